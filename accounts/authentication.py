"""JWT authentication that answers in the API's own words."""

from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import Token

from accounts.models import User


class ActiveUserJWTAuthentication(JWTAuthentication):
    """simplejwt's access-token check, with one clear message per failure.

    The user row is read on every request, so deactivating a user stops their tokens at once.
    """

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        """Return (user, token), None without an Authorization header, or raise 401."""
        try:
            return super().authenticate(request)  # type: ignore[return-value]
        except InvalidToken as exc:
            raise AuthenticationFailed("invalid or expired token", code="invalid_token") from exc
        except TokenError as exc:
            raise AuthenticationFailed("invalid or expired token", code="invalid_token") from exc

    def get_user(self, validated_token: Any) -> User:
        """Load the token's user; a missing or inactive user is a 401."""
        try:
            user = super().get_user(validated_token)
        except AuthenticationFailed as exc:
            if exc.get_codes() == "user_inactive":
                raise AuthenticationFailed("account disabled", code="account_disabled") from exc
            raise AuthenticationFailed("invalid or expired token", code="invalid_token") from exc
        return user  # type: ignore[return-value]

    def authenticate_header(self, request: Request) -> str:
        """WWW-Authenticate value on 401."""
        return 'Bearer realm="api"'
