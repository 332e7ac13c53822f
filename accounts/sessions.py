"""Login sessions: which tokens and sockets belong together, and which a password change ended.

A session starts at login and lives through every rotation of its refresh token: each token of the
chain (refresh and access alike) carries the same `sid` claim, and the `gen` claim, the user's
credentials generation when it was issued. Changing the password moves the user's generation on and
records the session that changed it (`User.credentials_session`): from then on a token is honoured
only if it is of the current generation or of that session. Every other session's tokens stop at once
(REST and WebSocket handshakes alike, like a ban), their refresh tokens are blacklisted, and their open
sockets close; the session that changed the password keeps working. That rule lives in User.save()
(accounts.lifecycle), so the admin and `manage.py changepassword` end sessions as the API does.

One session also ends on its own: at logout, and when a refresh token of it that was already rotated
away is presented again (reuse: someone else holds a copy of the chain). Its id then goes into
`User.ended_sessions` until its last access token has expired; every token of it is refused from the
next request on (the user cache carries the row), its refresh tokens are blacklisted, and once
committed its sockets close with 4410.
"""

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User

SESSION_CLAIM = "sid"
GENERATION_CLAIM = "gen"


@dataclass(frozen=True)
class Session:
    """A token's session id ("" for tokens issued before sessions existed) and credentials generation."""

    id: str
    generation: int


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return secrets.token_urlsafe(12)


def token_session(claims: Mapping[str, Any]) -> Session:
    """The session a token's claims name; missing or malformed claims give ("", 0)."""
    sid = claims.get(SESSION_CLAIM)
    generation = claims.get(GENERATION_CLAIM)
    return Session(
        id=sid if isinstance(sid, str) else "",
        generation=generation if isinstance(generation, int) and not isinstance(generation, bool) else 0,
    )


def session_kept(session: Session | None, *, keep: str) -> bool:
    """Whether a socket of `session` stays open after a password change that kept the session `keep`."""
    return session is not None and bool(keep) and session.id == keep


def session_is_current(*, user: User, session: Session) -> bool:
    """Whether `user` still honours `session`: not ended on its own (logout, reuse), and issued at the
    current generation or the session that changed the password last (its earlier tokens stay valid)."""
    if session.id and session.id in user.ended_sessions:
        return False
    if session.generation >= user.credentials_generation:
        return True
    return bool(session.id) and session.id == user.credentials_session


def session_end(*, user: User, session_id: str) -> None:
    """End one session of `user`, whose row the caller holds locked (FOR UPDATE) in its transaction.

    Records it in `ended_sessions` for as long as an access token of it may live (pruning entries past
    that), blacklists its refresh tokens, and once committed closes its sockets with 4410.
    """
    from realtime.broadcast import broadcast_on_commit
    from realtime.groups import user_group
    from realtime.protocol.event_types import ServerEvent

    now = int(time.time())
    # A token issued a moment before this lives ACCESS_TOKEN_LIFETIME more; a minute covers clock skew.
    until = now + int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + 60
    ended = {sid: expiry for sid, expiry in user.ended_sessions.items() if expiry > now}
    ended[session_id] = until
    user.ended_sessions = ended
    user.save(update_fields=["ended_sessions"])
    refresh_tokens_revoke(user, only_session=session_id)
    payload = {"user_id": user.pk, "session": session_id}
    broadcast_on_commit(user_group(user.pk), ServerEvent.SESSION_ENDED, payload)


def refresh_tokens_revoke(user: User, *, keep_session: str = "", only_session: str = "") -> int:
    """Blacklist the user's live refresh tokens: all, all but `keep_session`'s, or only `only_session`'s.

    Returns how many were blacklisted.
    """
    pending = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    rows = []
    for token in pending:
        sid = _stored_session(token) if (keep_session or only_session) else ""
        if (keep_session and sid == keep_session) or (only_session and sid != only_session):
            continue
        rows.append(BlacklistedToken(token=token))
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _stored_session(token: OutstandingToken) -> str:
    """The session id in a recorded refresh token's text (we signed it; only the claim is read)."""
    try:
        claims = RefreshToken(token.token, verify=False).payload  # type: ignore[arg-type]
    except TokenError:
        return ""
    return token_session(claims).id
