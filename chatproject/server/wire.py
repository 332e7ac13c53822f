"""A socket's raw output for the local fan-out: one WebSocket frame, framed once, written to many sockets.

Daphne hands an app only `send()`, which for every text frame encodes it to UTF-8, logs, and has autobahn
build the frame (header, length) and log again with eagerly formatted arguments: in a room of 500 that is
500 times the same work for one message. autobahn's own answer is a prepared message, framed once and
written to each connection (`PreparedMessage`, `sendPreparedMessage`). `offer_wire()` offers it to the app
as the ASGI scope extension `chat.wire`: the socket's `SocketWire`, whose `write()` puts a prepared
frame on the socket's transport when that is what autobahn would do itself (the socket open, no
compression, nothing queued ahead), and otherwise says no, so the caller sends the ordinary way.

It never lets a socket hold more unsent output than the ordinary path would: a frame that would take
the socket over WS_MAX_BUFFERED_BYTES is refused here, and the ordinary path then sends it and holds
its consumer until the client drains (chatproject.server.websocket).
"""

from typing import Any

from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol

from chatproject.conf import chat_settings
from chatproject.server.buffers import unsent_bytes

SCOPE_EXTENSION = "chat.wire"


def prepare(text: str) -> bytes:
    """The complete server-to-client frame of a text message: unmasked, uncompressed, one fragment."""
    return PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=True).payloadHybi


class SocketWire:
    """One Daphne WebSocket connection's transport, for frames prepared once (see the module)."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    def client_frames_read(self) -> bool:
        """Whether a message from the client has been read off the socket (handled or not yet)."""
        return bool(self._protocol.trafficStats.incomingWebSocketMessages)

    def write(self, frame: bytes) -> bool:
        """Write a prepared frame now, as autobahn's sendData would; False: send it through `send()`."""
        protocol = self._protocol
        if (
            protocol.state != WebSocketProtocol.STATE_OPEN
            or protocol._perMessageCompress is not None
            or protocol.send_queue  # autobahn's own queue, drained in order: do not overtake it
        ):
            return False
        transport = protocol.transport
        if transport is None:
            return False
        unsent = unsent_bytes(transport)
        if unsent + len(frame) > chat_settings.WS_MAX_BUFFERED_BYTES:
            return False
        _send_now(transport, frame, unsent)
        protocol.trafficStats.outgoingOctetsWireLevel += len(frame)
        return True


def _send_now(transport: Any, frame: bytes, unsent: int) -> None:
    """transport.write(frame), sent at once when Twisted holds nothing unsent (`unsent`) for the socket.

    Twisted's write() buffers and registers the socket with the event loop for writability, and the
    loop sends and unregisters it on its next turn: two epoll_ctl calls and two callbacks per frame
    (their cost: bench/README.md, issue 12's third step). A socket with nothing queued is almost always
    writable, so the frame goes to the kernel now (Twisted's own writeSomeData, as doWrite would call
    it), and only what the kernel did not take is left to write(). Not over TLS, where write() encrypts.
    """
    if (
        getattr(transport, "TLS", True) is False
        and transport.connected
        and not transport.disconnecting
        and unsent == 0
    ):
        sent = transport.writeSomeData(frame)
        if isinstance(sent, int) and sent > 0:  # else 0 (would block) or a ConnectionLost, left to write()
            if sent == len(frame):
                return
            frame = frame[sent:]
    transport.write(frame)


def offer_wire(server: Any, websocket_protocol: Any) -> None:
    """Give every Daphne WebSocket connection's scope its SocketWire (the `chat.wire` extension)."""
    original = server.create_application

    def create_application(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        if isinstance(protocol, websocket_protocol):
            scope["extensions"] = {**(scope.get("extensions") or {}), SCOPE_EXTENSION: SocketWire(protocol)}
        return original(self, protocol, scope)

    server.create_application = create_application
