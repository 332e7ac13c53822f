"""WebSocket frame helpers: encoding, the seed's error strings, and close codes."""

import json
from collections.abc import Mapping
from typing import Any

from chatproject.errors import DomainError, error_body

# Close codes (documented in README and the AsyncAPI document).
CLOSE_UNAUTHENTICATED = 4401  # no, bad, expired or refresh token; used ticket; token expired while open
CLOSE_ACCOUNT_DISABLED = 4403  # staff deactivated the user
CLOSE_SESSION_REVOKED = 4410  # the session ended: password changed elsewhere, logout, or refresh reuse
# The client broke the socket's flow policy: flooded frames past WS_REFUSED_FRAME_BURST (realtime.socket.rates),
# or did not read its output (chatproject.server). Reconnect, resume, resend what was unanswered.
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009  # frame over WS_MAX_FRAME_BYTES
CLOSE_TRY_AGAIN_LATER = 1013  # Redis or the database is unreachable: reconnect later and resume
CLOSE_TOO_MANY_SOCKETS = 4429  # the user already has WS_MAX_SOCKETS_PER_USER sockets open

# Three of the seed's five error messages, exactly; the other two are domain errors' own
# (NotChatMemberError.socket_message, MessageEmptyError.message).
INVALID_FORMAT = "invalid message format"
UNKNOWN_TYPE = "unknown message type"
INVALID_PAYLOAD = "invalid payload"
RATE_LIMITED = "rate limit exceeded"


def encode(frame_type: str, payload: Mapping[str, Any]) -> str:
    """One outgoing frame as JSON text."""
    return json.dumps({"type": frame_type, "payload": payload}, separators=(",", ":"))


def error_payload(message: str, code: str, client_id: Any = None, **extra: Any) -> dict[str, Any]:
    """The payload of an error frame; echoes client_id so clients can match it to a send."""
    return _frame_payload(error_body(message, code, **extra), client_id)


def domain_error_payload(exc: DomainError, client_id: Any = None) -> dict[str, Any]:
    """The error frame payload for a DomainError, `fields` included; its `socket_message` where it has one."""
    body = exc.as_dict()
    if exc.socket_message is not None:
        body["error"] = exc.socket_message
    return _frame_payload(body, client_id)


def _frame_payload(body: dict[str, Any], client_id: Any) -> dict[str, Any]:
    # The seed's frame names the REST body's "error" member "message"; the order of members stays.
    payload = {("message" if key == "error" else key): value for key, value in body.items()}
    if isinstance(client_id, str):
        payload["client_id"] = client_id
    return payload
