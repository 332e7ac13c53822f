"""JWT -> scope["user"] for WebSocket handshakes, reusing simplejwt's own validation.

Three credential paths, first match wins: `Authorization: Bearer <access>` (apps),
`Sec-WebSocket-Protocol: chat, bearer.<access>` (browsers), `?ticket=<ticket>` from POST /api/ws/ticket.
A failure (none given, an invalid or used ticket, an invalid or expired token) leaves scope["user"]
None; the consumer closes with 4401.
scope["token_exp"] is when the socket's credential expires: the access token's `exp`, or for a ticket
that of the access token that obtained it; an `auth` frame moves it (reauthenticate). scope["session"]
is the login session of that access token (accounts.sessions): a password change made in another
session closes the socket.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.authentication import ActiveUserJWTAuthentication
from accounts.errors import InvalidAccessTokenError
from accounts.models import User
from accounts.sessions import Session, token_session
from realtime.threads import in_db_thread
from realtime.tickets import ws_ticket_consume

BEARER_PROTOCOL_PREFIX = "bearer."


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin1")
    return None


def _credential(scope: dict[str, Any]) -> tuple[str, str] | None:
    """("jwt", token) or ("ticket", ticket) from the handshake, or None."""
    authorization = _header(scope, b"authorization")
    if authorization:
        parts = authorization.split()
        if len(parts) == 2 and parts[0].lower() == "bearer":
            return ("jwt", parts[1])
        return ("jwt", "")  # present but malformed: fail, do not fall through to weaker paths
    for protocol in scope.get("subprotocols", []):
        if protocol.startswith(BEARER_PROTOCOL_PREFIX):
            return ("jwt", protocol[len(BEARER_PROTOCOL_PREFIX) :])
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin1"))
    if query.get("ticket"):
        return ("ticket", query["ticket"][0])
    return None


def _authenticate_jwt(raw: str) -> tuple[User, int, Session]:
    """(user, token expiry as a unix time, session) for a valid access token of an active user.

    REST's authentication class, so a token REST refuses (a malformed user id or an ended session
    included) is refused here.
    """
    backend = ActiveUserJWTAuthentication()
    token = backend.get_validated_token(raw.encode())  # type: ignore[arg-type]
    user = backend.get_user(token)  # raises for a missing or inactive user, or an ended session
    return user, int(token["exp"]), token_session(token.payload)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SocketCredential:
    """What a handshake's credential proved: the user, the socket's expiry and session (all None: nothing)."""

    user: User | None = None
    expires: int | None = None
    session: Session | None = None


@in_db_thread
def authenticate(scope: dict[str, Any]) -> SocketCredential:
    """The user, expiry and session of a handshake's credential; all None without a valid one."""
    credential = _credential(scope)
    if credential is None:
        return SocketCredential()
    kind, value = credential
    if kind == "ticket":
        spent = ws_ticket_consume(ticket=value)
        if spent is None:
            return SocketCredential()
        user, access_expires_at, session = spent
        return SocketCredential(user=user, expires=int(access_expires_at.timestamp()), session=session)
    try:
        user, expires, session = _authenticate_jwt(value)
    except (InvalidToken, TokenError, AuthenticationFailed):
        return SocketCredential()
    return SocketCredential(user=user, expires=expires, session=session)


@in_db_thread
def reauthenticate(*, token: str, user_id: int) -> int:
    """The expiry (unix time) of `token`, a valid access token of the active user `user_id`.

    For the socket's `auth` frame. Raises InvalidAccessTokenError for anything else, another user's
    valid token included (a socket never changes hands).
    """
    try:
        user, expires, _ = _authenticate_jwt(token)
    except (InvalidToken, TokenError, AuthenticationFailed):
        raise InvalidAccessTokenError() from None
    if user.pk != user_id:
        raise InvalidAccessTokenError()
    return expires


class JWTAuthMiddleware:
    """ASGI middleware that resolves the handshake's credential before the consumer runs."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        """Set scope["user"], ["token_exp"] and ["session"], then call the app."""
        found = await authenticate(scope)
        scope = {
            **scope,
            "user": found.user,
            "token_exp": found.expires,
            "session": found.session,
        }
        return await self.app(scope, receive, send)
