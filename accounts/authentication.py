"""JWT authentication that answers in the API's own words."""

import re
from typing import Any, cast

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from accounts.models import User
from accounts.sessions import session_is_current, token_session
from accounts.usercache import user_by_id
from chatproject.fields import is_bigint_id

# simplejwt writes the id as a decimal string; at most 19 digits can be a bigint.
_DECIMAL_ID = re.compile(r"[0-9]{1,19}")


def token_user_id(payload: Any) -> int | None:
    """The token's user id claim as a database id, or None when it cannot be one.

    A correctly signed token may still carry "abc", 1.5, true or a 5,000-digit number; each of those
    would reach the ORM as a ValueError or a database range error (a 500), and 1.5 would even be
    truncated to user 1. Only an int or a decimal string in the bigint id range is accepted.
    """
    value = payload.get(jwt_settings.USER_ID_CLAIM) if hasattr(payload, "get") else None
    if isinstance(value, str) and _DECIMAL_ID.fullmatch(value):
        value = int(value)
    return value if is_bigint_id(value) else None


def _api_failure(exc: AuthenticationFailed | TokenError) -> AuthenticationFailed:
    """A failure of simplejwt's token check in the API's words; the one place simplejwt's failures are read.

    simplejwt puts {"detail": ..., "code": ...} in an exception's `detail` (DRF's get_codes() then
    reports only the generic code), so its code is read from there, once. An inactive user is
    `account_disabled`; a malformed Authorization header keeps simplejwt's words; anything else
    (bad signature, expired, wrong type, unknown or malformed user id) is `invalid_token`.
    """
    detail = exc.detail if isinstance(exc, AuthenticationFailed) else None
    if isinstance(detail, dict):
        message, code = str(detail.get("detail", "")), str(detail.get("code", ""))
    elif isinstance(exc, AuthenticationFailed):
        codes = exc.get_codes()
        message, code = str(detail), codes if isinstance(codes, str) else ""
    else:
        message, code = "", ""
    if code in ("user_inactive", "account_disabled"):
        return AuthenticationFailed("account disabled", code="account_disabled")
    if code == "bad_authorization_header":
        return AuthenticationFailed(message, code=code)
    return AuthenticationFailed("invalid or expired token", code="invalid_token")


class ActiveUserJWTAuthentication(JWTAuthentication):
    """simplejwt's access-token check, with one clear message per failure (see _api_failure).

    The user comes from accounts.usercache, which every change of the user outdates at once, so
    deactivating a user stops their tokens at once without a query per request.
    """

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        """Return (user, token), None without an Authorization header, or raise 401 in the API's words."""
        try:
            return super().authenticate(request)  # type: ignore[return-value]
        except (AuthenticationFailed, TokenError) as exc:
            raise _api_failure(exc) from exc

    def get_user(self, validated_token: Any) -> User:  # type: ignore[override]
        """The token's user, from accounts.usercache (no query while the user is unchanged).

        As simplejwt's own get_user, in the API's words: an inactive user is account_disabled; an unknown or
        malformed user id, or a session a password change ended, fails like a bad token.
        """
        user_id = token_user_id(validated_token)
        if user_id is None:
            raise InvalidToken()
        if jwt_settings.CHECK_REVOKE_TOKEN:
            # Compares the password hash, which the cache does not hold.
            user: User = super().get_user(validated_token)  # type: ignore[assignment]
        else:
            found = user_by_id(user_id)
            if found is None:
                raise InvalidToken()  # simplejwt's user_not_found, which the API words as invalid_token
            if jwt_settings.CHECK_USER_IS_ACTIVE and not found.is_active:
                raise AuthenticationFailed("account disabled", code="account_disabled")
            user = found
        if not session_is_current(user=user, session=token_session(validated_token.payload)):
            raise InvalidToken()  # a password change in another session ended this token's session
        return user

    def authenticate_header(self, request: Request) -> str:
        """WWW-Authenticate value on 401."""
        return 'Bearer realm="api"'


class ActiveUserJWTScheme(SimpleJWTScheme):
    """OpenAPI: document ActiveUserJWTAuthentication as the `jwtAuth` bearer scheme."""

    target_class = "accounts.authentication.ActiveUserJWTAuthentication"


def authenticated_user(request: Any) -> User:
    """The request's user, for views behind IsAuthenticated (DRF) or the admin: the one narrowing of it."""
    return cast(User, request.user)
