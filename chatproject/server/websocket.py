"""WebSocket: frames capped before they are buffered, senders held while their client does not read,
close handshakes that give a slow client time to read its answer."""

import asyncio
import logging
from typing import Any

from chatproject.conf import chat_settings
from chatproject.server.buffers import _DRAIN_POLL_SECONDS, abort_and_free, unsent_bytes
from chatproject.server.http import hold_response_until_drained

logger = logging.getLogger(__name__)

CLOSE_POLICY_VIOLATION = 1008


def close_overflowing(protocol: Any) -> None:
    """Close a socket whose client does not read with 1008, then abort it and free its buffer."""
    logger.warning(
        "closing WebSocket %s: %d bytes unsent, client not reading",
        protocol.client_addr,
        unsent_bytes(protocol.transport),
    )
    # sendCloseFrame, not sendClose: autobahn lets applications close only with 1000 or 3000-4999.
    protocol.sendCloseFrame(code=CLOSE_POLICY_VIOLATION, isReply=False)
    abort_and_free(protocol.transport)


async def hold_until_drained(protocol: Any) -> None:
    """Wait while the socket's unsent output is over WS_MAX_BUFFERED_BYTES, until its client drains it.

    The sender waits here after the frame that passed the bound, so one socket holds at most the bound
    plus one frame, and its client's frames are not read meanwhile. A client that has not taken the
    output back under the bound within WS_DRAIN_TIMEOUT_SECONDS (one frame's worth, for a client that
    reads at all) is closed (1008).
    """
    transport = protocol.transport
    bound = chat_settings.WS_MAX_BUFFERED_BYTES
    if transport is None or unsent_bytes(transport) <= bound:
        return
    loop = asyncio.get_running_loop()
    # Not "any progress": a client taking a byte now and then would hold the sender, and what the
    # sender does not take meanwhile (the channel layer's queue for it), for ever.
    deadline = loop.time() + chat_settings.WS_DRAIN_TIMEOUT_SECONDS
    # Read no frames meanwhile: the held app would not take them, and Daphne queues what it reads
    # without bound; they wait in the kernel's buffers instead.
    transport.pauseProducing()
    try:
        while protocol.state == protocol.STATE_OPEN and unsent_bytes(transport) > bound:
            if loop.time() >= deadline:
                close_overflowing(protocol)
                return
            await asyncio.sleep(_DRAIN_POLL_SECONDS)
    finally:
        if protocol.state == protocol.STATE_OPEN:
            transport.resumeProducing()


CLOSE_HANDSHAKE_SECONDS = 10.0


def patch_websocket(server: Any, websocket_factory: Any) -> None:
    """Frames capped, senders held while their client is behind, patient close handshakes."""
    from daphne.http_protocol import WebRequest
    from daphne.ws_protocol import WebSocketProtocol

    original_handle_reply = server.handle_reply
    original_set_protocol_options = websocket_factory.setProtocolOptions

    async def handle_reply(self: Any, protocol: Any, message: dict[str, Any]) -> None:
        """Daphne's reply, then hold the sender while its client is behind (see above)."""
        await original_handle_reply(self, protocol, message)
        kind = message.get("type")
        if kind == "websocket.send" and isinstance(protocol, WebSocketProtocol):
            await hold_until_drained(protocol)
        elif kind == "http.response.body" and message.get("more_body") and isinstance(protocol, WebRequest):
            await hold_response_until_drained(protocol)

    def set_protocol_options(self: Any, **options: Any) -> None:
        """Daphne's options, with frames capped at WS_MAX_FRAME_BYTES and failures closed, not dropped."""
        limit = chat_settings.WS_MAX_FRAME_BYTES
        for key in ("maxMessagePayloadSize", "maxFramePayloadSize"):
            given = options.get(key) or 0  # autobahn: 0 is no limit
            options[key] = min(given, limit) if given else limit
        # With failByDrop (autobahn's default) a frame over the limit ends the TCP connection with no
        # close frame (1006 at the client); without it the client gets 1009, then the connection ends.
        options.setdefault("failByDrop", False)
        # After the server's close frame autobahn waits this long for the client's, then aborts the TCP
        # connection (a reset, which discards what the client has not read yet). Its 1 s default cut
        # off a client slowed by a reconnect storm before it read its answer (the 101 and the
        # `server_busy` frame of a shed handshake), which it then saw as no answer at all.
        options.setdefault("closeHandshakeTimeout", CLOSE_HANDSHAKE_SECONDS)
        original_set_protocol_options(self, **options)

    server.handle_reply = handle_reply
    websocket_factory.setProtocolOptions = set_protocol_options
