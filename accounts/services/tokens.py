"""Refresh-token writes: rotation (with reuse detection) and logout."""

from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import token_user_id
from accounts.errors import (
    AccountDisabledError,
    InvalidRefreshTokenError,
    TokenNotYoursError,
)
from accounts.models import User
from accounts.services.credentials import TokenPair, _issue_tokens
from accounts.sessions import (
    session_end,
    session_is_current,
    token_session,
)


def token_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate a refresh token: blacklist it and issue a new pair of the same session.

    A token of the session that was already rotated away (or revoked) is reuse: someone else may
    hold a copy of the chain, so the whole session ends (accounts.sessions.session_end: its access
    tokens are refused, its refresh tokens blacklisted, its sockets close with 4410) and the request
    is refused. That ending commits on its own transaction, before the refusal is raised.
    Raises InvalidRefreshTokenError, AccountDisabledError.
    """
    pair = _token_rotate(refresh_token=refresh_token)
    if pair is None:
        raise InvalidRefreshTokenError()
    return pair


@transaction.atomic
def _token_rotate(*, refresh_token: str) -> TokenPair | None:
    """token_refresh's transaction: the new pair, or None when reuse ended the session.

    Locks the user row, then the token's OutstandingToken row: of two concurrent refreshes of one
    token, one rotates it and the other is reuse. A refresh racing user_deactivate (which takes the
    same user lock) either finishes first, so its new token is blacklisted by the ban, or sees the
    user inactive.
    """
    try:
        token = _RefreshIgnoringBlacklist(refresh_token)  # type: ignore[arg-type]
    except TokenError:
        raise InvalidRefreshTokenError() from None
    user_id = token_user_id(token.payload)
    if user_id is None:
        raise InvalidRefreshTokenError()
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise InvalidRefreshTokenError()
    outstanding = (
        OutstandingToken.objects.select_for_update().filter(jti=token.payload[jwt_settings.JTI_CLAIM]).first()
    )
    if outstanding is None:
        raise InvalidRefreshTokenError()
    revoked = BlacklistedToken.objects.filter(token=outstanding).exists()
    if not user.is_active:
        # A revoked token is refused as such; a live one learns why it cannot be used.
        raise InvalidRefreshTokenError() if revoked else AccountDisabledError()
    session = token_session(token.payload)
    if not session_is_current(user=user, session=session):
        raise InvalidRefreshTokenError()
    if revoked:
        if not session.id:
            raise InvalidRefreshTokenError()  # a token from before sessions: nothing more to end
        session_end(user=user, session_id=session.id)
        return None
    BlacklistedToken.objects.create(token=outstanding)
    return _issue_tokens(user, session_id=session.id)


class _RefreshIgnoringBlacklist(RefreshToken):
    """Full signature, expiry and type checks, but a revoked token still parses (reuse detection, and
    logout is idempotent)."""

    def check_blacklist(self) -> None:
        """Skip: the callers decide what a blacklisted token means."""


@transaction.atomic
def token_revoke(*, user: User, refresh_token: str) -> None:
    """Log out: end the refresh token's session (already ended is fine).

    Its refresh tokens are blacklisted and its access tokens refused from now on, its sockets close
    with 4410 once committed (accounts.sessions.session_end); the user's other sessions go on. A
    token issued before sessions existed is blacklisted alone.
    Raises InvalidRefreshTokenError (malformed or expired), TokenNotYoursError.
    """
    try:
        token = _RefreshIgnoringBlacklist(refresh_token)  # type: ignore[arg-type]
    except TokenError:
        raise InvalidRefreshTokenError() from None
    if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise TokenNotYoursError()
    outstanding = OutstandingToken.objects.filter(jti=token.payload[jwt_settings.JTI_CLAIM]).first()
    if outstanding is None:
        raise InvalidRefreshTokenError()
    BlacklistedToken.objects.get_or_create(token=outstanding)
    session = token_session(token.payload)
    if not session.id:
        return
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is not None and session.id not in locked.ended_sessions:
        session_end(user=locked, session_id=session.id)
