"""Limits on what one connection may make Daphne hold, enforced where Daphne and Twisted hold it.

Installed by `chatproject.asgi` (so it holds under plain `daphne chatproject.asgi:application`, as
`make run` starts it); each seam is a documented Twisted/autobahn option or one Daphne method, patched
once per process:

- Request bodies: Twisted reads a body whole (into memory or a temporary file) and Daphne then queues
  all of it for the app before Django can answer 413. Here a body is refused with the API's 413 JSON
  as soon as its Content-Length is over the limit, or, chunked, as soon as what arrived passes it.
- Twisted parses multipart/form-data bodies itself (whole, in memory) only to fill `request.args`,
  which Daphne never reads, and answers a bare 400 when that parse fails; Django parses them instead.
- Twisted's own 400 (bad request line, NUL in a header, ...) and Daphne's error pages answer JSON.
- WebSocket frames over WS_MAX_FRAME_BYTES are refused by autobahn before they are buffered, with a
  1009 close frame (autobahn's default `failByDrop` drops the TCP connection without one).
- Streamed HTTP responses (downloads) likewise wait while more than HTTP_MAX_BUFFERED_BYTES is unsent,
  and a client that does not read within HTTP_DRAIN_TIMEOUT_SECONDS has its connection aborted.
- WebSocket output: what the app sends is written to Twisted's buffer at once, whether the client
  reads or not. A socket whose unsent output is over WS_MAX_BUFFERED_BYTES holds its sender until
  the client drains it back under the bound; if that takes WS_DRAIN_TIMEOUT_SECONDS the socket is
  closed with 1008 and the connection aborted, so its buffer is freed rather than left waiting on a
  peer that does not read (or reads a byte now and then to look alive).
"""

import asyncio
import json
import logging
from typing import Any, cast

from django.conf import settings
from django.urls import reverse

from chatproject.conf import chat_settings
from chatproject.errors import (
    BadRequestError,
    InternalError,
    RequestBodyTooLargeError,
    ServiceUnavailableError,
    error_body,
)
from chatproject.logs import answered_before_the_app

logger = logging.getLogger(__name__)

CLOSE_POLICY_VIOLATION = 1008
# A refused body's connection keeps reading (and dropping) the rest this long after the answer, so
# the client's kernel sees no reset before it has read the 413; then the connection is aborted.
LINGER_SECONDS = 5.0
# How often a held sender looks whether its socket's client took any of the unsent output.
_DRAIN_POLL_SECONDS = 0.05

# Bodies only: Daphne's error path sends Content-Type alone, so its 503 has no Retry-After, as before.
_DAPHNE_ERRORS = {
    error.status_code: error.as_dict()
    for error in (BadRequestError(), InternalError(), ServiceUnavailableError())
}


def install() -> None:
    """Patch Daphne, Twisted and autobahn once; a no-op without Daphne (another ASGI server)."""
    try:
        from daphne.http_protocol import WebRequest
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketFactory
        from twisted.web.http import HTTPChannel
    except ImportError:  # pragma: no cover - another ASGI server
        return
    if getattr(Server, "_transport_limits_installed", False):
        return
    Server._transport_limits_installed = True  # type: ignore[attr-defined]
    _install_http(WebRequest, HTTPChannel)
    _install_websocket(Server, WebSocketFactory)


# --- HTTP ---------------------------------------------------------------------------------------


def http_response(status: int, reason: str, body: dict[str, Any], request_id: str | None = None) -> bytes:
    """A whole HTTP/1.1 answer with a JSON body that closes the connection."""
    payload = json.dumps(body).encode()
    # A request id is a safe token (chatproject.request_id): nothing in it can break the header.
    extra = f"X-Request-ID: {request_id}\r\n" if request_id else ""
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + payload


def body_limit(target: bytes) -> tuple[int | None, dict[str, Any]]:
    """The largest body a request to `target` may send, and the 413 body it gets past it.

    POST /api/attachments takes ATTACHMENT_MAX_BYTES plus the multipart framing (as its upload handler
    counts); every other route DATA_UPLOAD_MAX_MEMORY_SIZE (None: no limit, as in Django).
    """
    from messaging.attachments.uploads import MULTIPART_OVERHEAD_BYTES
    from messaging.errors import AttachmentTooLargeError

    path = target.split(b"?", 1)[0].decode("latin-1")
    if path == reverse("attachment-upload"):
        limit = chat_settings.ATTACHMENT_MAX_BYTES
        return (
            limit + MULTIPART_OVERHEAD_BYTES,
            AttachmentTooLargeError(f"file is too large (at most {limit} bytes)").as_dict(),
        )
    # The same error the middleware answers with when Django sees the body first.
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE, RequestBodyTooLargeError().as_dict()


def _discard(*args: Any) -> None:
    """Drop data received after the connection's request was refused."""


def _refuse(request: Any, body: dict[str, Any]) -> None:
    """Answer 413 now, read no more of the request, and close.

    The write side closes once the answer is out (the client reads it, then EOF); what the client
    still sends is read and dropped for LINGER_SECONDS, so it is not answered with a reset that could
    discard the 413 in its kernel before it reads it; then the connection is aborted.
    """
    from twisted.internet import reactor

    request._body_refused = True
    channel = request.channel
    # Neither parse nor buffer the rest; Twisted would also answer "100 Continue" after our 413.
    channel.dataReceived = channel.lineReceived = channel.rawDataReceived = _discard
    request.requestHeaders.removeHeader(b"Expect")
    transport = channel.transport
    rid = answered_before_the_app(request, 413)
    transport.write(http_response(413, "Content Too Large", body, rid))
    if hasattr(transport, "loseWriteConnection"):
        transport.loseWriteConnection()
    else:  # pragma: no cover - a transport that cannot half-close (TLS)
        transport.loseConnection()
    cast(Any, reactor).callLater(LINGER_SECONDS, transport.abortConnection)


def _install_http(web_request: Any, http_channel: Any) -> None:
    original_got_length = web_request.gotLength
    original_handle_content_chunk = web_request.handleContentChunk
    original_request_received = web_request.requestReceived

    def got_length(self: Any, length: int | None) -> None:
        """Refuse a body whose Content-Length is over the route's limit before any of it is read."""
        # Twisted's multipart parse of the whole body fills `request.args`, which Daphne never reads.
        # (Request.__init__ sets the flag, so it is turned off here, before requestReceived.)
        self._parsePOSTFormSubmission = False
        self._body_received = 0
        self._body_refused = False
        self._body_limit, self._body_too_large = body_limit(getattr(self.channel, "_path", b""))
        if length is not None and self._body_limit is not None and length > self._body_limit:
            original_got_length(self, 0)
            _refuse(self, self._body_too_large)
            return
        original_got_length(self, length)

    def handle_content_chunk(self: Any, data: bytes) -> None:
        """Count a chunked (or any) body as it arrives; refuse it at the first byte over the limit."""
        if getattr(self, "_body_refused", False):
            return
        limit = getattr(self, "_body_limit", None)
        self._body_received = getattr(self, "_body_received", 0) + len(data)
        if limit is not None and self._body_received > limit:
            _refuse(self, self._body_too_large)
            return
        original_handle_content_chunk(self, data)

    def request_received(self: Any, command: bytes, path: bytes, version: bytes) -> None:
        """A refused request never reaches the app, even when its end was in the same read."""
        if getattr(self, "_body_refused", False):
            return
        original_request_received(self, command, path, version)

    def basic_error(self: Any, status: int, status_text: bytes, body: str) -> None:
        """Daphne's own error answers (invalid header, app timeout, crash) in the API's JSON shape."""
        error = _DAPHNE_ERRORS.get(status, error_body(status_text.decode("ascii").lower(), "error"))
        rid = answered_before_the_app(self, status).encode()
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"Content-Type", b"application/json"), (b"X-Request-ID", rid)],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": json.dumps(error).encode()})

    def respond_to_bad_request_and_disconnect(self: Any) -> None:
        """Twisted's 400 for what it cannot parse (NUL or CR in a header, bad request line), as JSON."""
        self.transport.write(http_response(400, "Bad Request", BadRequestError().as_dict()))
        self.loseConnection()

    web_request.gotLength = got_length
    web_request.handleContentChunk = handle_content_chunk
    web_request.requestReceived = request_received
    web_request.basic_error = basic_error
    http_channel._respondToBadRequestAndDisconnect = respond_to_bad_request_and_disconnect


# --- WebSocket ----------------------------------------------------------------------------------


def unsent_bytes(transport: Any) -> int:
    """Bytes written to a Twisted TCP transport that the kernel has not taken yet (0 if unknown)."""
    buffered = getattr(transport, "dataBuffer", b"")
    return len(buffered) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


def abort_and_free(transport: Any) -> None:
    """Drop a connection whose client does not read, and the output it held for that client."""
    transport.abortConnection()
    # An aborted transport never writes again; drop what it held now rather than when it is collected.
    if hasattr(transport, "_tempDataBuffer"):
        transport.dataBuffer, transport.offset = b"", 0
        transport._tempDataBuffer, transport._tempDataLen = [], 0


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


async def hold_response_until_drained(request: Any) -> None:
    """Wait while an HTTP response's unsent bytes are over HTTP_MAX_BUFFERED_BYTES (a streamed download).

    Daphne writes each body chunk into Twisted's buffer at once, so a client that does not read would
    make the server hold the whole file. The app's next chunk waits here instead; a client that does not
    take the output back under the bound within HTTP_DRAIN_TIMEOUT_SECONDS has its connection aborted.
    """
    channel = getattr(request, "channel", None)
    transport = getattr(channel, "transport", None)
    bound = chat_settings.HTTP_MAX_BUFFERED_BYTES
    if transport is None or unsent_bytes(transport) <= bound:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + chat_settings.HTTP_DRAIN_TIMEOUT_SECONDS
    while not request.finished and request.channel is not None and unsent_bytes(transport) > bound:
        if loop.time() >= deadline:
            logger.warning("aborting HTTP response to %s: client not reading", request.client_addr)
            abort_and_free(transport)
            return
        await asyncio.sleep(_DRAIN_POLL_SECONDS)


CLOSE_HANDSHAKE_SECONDS = 10.0


def _install_websocket(server: Any, websocket_factory: Any) -> None:
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
