"""Account failures, each with a stable code."""

from chatproject.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotAuthenticatedError,
    NotFoundError,
)


class EmailTakenError(ConflictError):
    """Registration with an email that already has an account."""

    code = "email_exists"
    message = "email already exists"


class UserNotFoundError(NotFoundError):
    """No account has that email (or id)."""

    code = "user_not_found"
    message = "user not found"


class InvalidPasswordError(NotAuthenticatedError):
    """The password does not match."""

    code = "invalid_password"
    message = "invalid password"


class AccountDisabledError(ForbiddenError):
    """The account was deactivated by staff."""

    code = "account_disabled"
    message = "account disabled"


class InvalidRefreshTokenError(NotAuthenticatedError):
    """The refresh token is malformed, expired, blacklisted, of the wrong type, or its user is gone."""

    code = "invalid_refresh_token"
    message = "invalid refresh token"


class TokenNotYoursError(ForbiddenError):
    """A refresh token that belongs to another user."""

    code = "token_not_yours"
    message = "refresh token belongs to another user"


class CrossSiteCookieError(ForbiddenError):
    """The refresh cookie was used without `X-Refresh-Cookie: 1`, or from another origin (CSRF)."""

    code = "cross_site_cookie"
    message = "refresh cookie refused: send X-Refresh-Cookie: 1 from this origin"


class InvalidAccessTokenError(NotAuthenticatedError):
    """An access token that is malformed, expired, of the wrong type, or not the expected user's."""

    code = "invalid_token"
    message = "invalid or expired token"


class SearchTooShortError(InvalidError):
    """A user search under 3 characters that is not an email."""

    code = "search_too_short"
    message = "search needs at least 3 characters, or a whole email"


class WrongOldPasswordError(InvalidError):
    """A password change whose old password does not match (400, so clients keep their session)."""

    code = "wrong_old_password"
    message = "old password is incorrect"

    def __init__(self) -> None:
        super().__init__(fields={"old_password": [self.message]})
