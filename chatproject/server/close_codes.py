"""Let Daphne send the registered close codes this protocol uses.

Autobahn (under Daphne) only lets an application close with 1000 or 3000-4999, although RFC 6455 and
the IANA registry define 1008 (policy violation: a client flooding frames), 1009 (message too big) and
1013 (try again later) for servers to send, and clients treat them specially (1013: reconnect later).
This widens that one check and nothing else.
"""

from typing import Any

SERVER_CODES = frozenset({1008, 1009, 1011, 1012, 1013})


def allow_registered_close_codes(websocket_protocol: Any) -> None:
    """autobahn's sendClose also sends SERVER_CODES (without a reason), as sendCloseFrame would."""
    original = websocket_protocol.sendClose

    def send_close(self: Any, code: int | None = None, reason: str | None = None) -> None:
        if code in SERVER_CODES and reason is None:
            self.sendCloseFrame(code=code, reasonUtf8=None, isReply=False)
            return
        original(self, code, reason)

    websocket_protocol.sendClose = send_close
