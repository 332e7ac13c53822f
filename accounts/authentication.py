"""JWT authentication that answers in the API's own words."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import Token

from accounts.models import User


def _simplejwt_code(exc: AuthenticationFailed) -> str | None:
    # simplejwt's exceptions carry {"detail": ..., "code": ...} as their detail, so DRF's
    # get_codes() reports the generic code; the real one is the "code" entry's text.
    detail = exc.detail
    if isinstance(detail, dict):
        code = detail.get("code")
        return str(code) if code is not None else None
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else None


class ActiveUserJWTAuthentication(JWTAuthentication):
    """simplejwt's access-token check, with one clear message per failure.

    The user row is read on every request, so deactivating a user stops their tokens at once.
    """

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        """Return (user, token), None without an Authorization header, or raise 401."""
        try:
            return super().authenticate(request)  # type: ignore[return-value]
        except (InvalidToken, TokenError) as exc:
            raise AuthenticationFailed("invalid or expired token", code="invalid_token") from exc

    def get_user(self, validated_token: Any) -> User:  # type: ignore[override]
        """Load the token's user; a missing or inactive user is a 401."""
        try:
            user = super().get_user(validated_token)
        except AuthenticationFailed as exc:
            if _simplejwt_code(exc) == "user_inactive":
                raise AuthenticationFailed("account disabled", code="account_disabled") from exc
            raise AuthenticationFailed("invalid or expired token", code="invalid_token") from exc
        return user  # type: ignore[return-value]

    def authenticate_header(self, request: Request) -> str:
        """WWW-Authenticate value on 401."""
        return 'Bearer realm="api"'


class ActiveUserJWTScheme(SimpleJWTScheme):
    """OpenAPI: document ActiveUserJWTAuthentication as the `jwtAuth` bearer scheme."""

    target_class = "accounts.authentication.ActiveUserJWTAuthentication"
