"""Login sessions: which tokens and sockets belong together, and which a password change ended.

A session starts at login and lives through every rotation of its refresh token: each token of the
chain (refresh and access alike) carries the same `sid` claim, and the `gen` claim, the user's
credentials generation when it was issued. Changing the password moves the user's generation on and
records the session that changed it (`User.credentials_session`): from then on a token is honoured
only if it is of the current generation or of that session. Every other session's tokens stop at once
(REST and WebSocket handshakes alike, like a ban), their refresh tokens are blacklisted, and their open
sockets close; the session that changed the password keeps working.
"""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    """Whether `user` still honours `session`: issued at the current generation, or the session that
    changed the password last (its earlier tokens stay valid)."""
    if session.generation >= user.credentials_generation:
        return True
    return bool(session.id) and session.id == user.credentials_session
