"""Let Daphne send the registered close codes this protocol uses.

Autobahn (under Daphne) only lets an application close with 1000 or 3000-4999, although RFC 6455 and
the IANA registry define 1008 (policy violation: a client flooding frames), 1009 (message too big) and
1013 (try again later) for servers to send, and clients treat them specially (1013: reconnect later).
This widens that one check and nothing else.
"""

from typing import Any

SERVER_CODES = frozenset({1008, 1009, 1011, 1012, 1013})


def allow_registered_close_codes() -> None:
    """Patch autobahn's sendClose once, if autobahn is installed (it is, with Daphne)."""
    try:
        from autobahn.websocket.protocol import WebSocketProtocol
    except ImportError:  # pragma: no cover - another ASGI server
        return
    original = WebSocketProtocol.sendClose
    if getattr(original, "_allows_registered_codes", False):
        return

    def send_close(self: Any, code: int | None = None, reason: str | None = None) -> None:
        if code in SERVER_CODES and reason is None:
            self.sendCloseFrame(code=code, reasonUtf8=None, isReply=False)
            return
        original(self, code, reason)

    send_close._allows_registered_codes = True  # type: ignore[attr-defined]
    WebSocketProtocol.sendClose = send_close  # type: ignore[method-assign]
