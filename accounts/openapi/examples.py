"""OpenAPI examples and parameters the account endpoints share."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from accounts import cookies
from accounts.errors import (
    AccountDisabledError,
    CrossSiteCookieError,
)
from chatproject.schema import error_response

USER_EXAMPLE = OpenApiExample(
    "user", value={"id": 1, "username": "ivan", "email": "ivan@example.com"}, response_only=True
)
TOKENS_EXAMPLE = OpenApiExample(
    "tokens",
    value={"access_token": "eyJhbGciOiJIUzI1NiIs...", "refresh_token": "eyJhbGciOiJIUzI1NiIs..."},
    response_only=True,
)
ACCESS_ONLY_EXAMPLE = OpenApiExample(
    "web client (X-Refresh-Cookie: 1)", value={"access_token": "eyJhbGciOiJIUzI1NiIs..."}, response_only=True
)
INVALID_REFRESH = error_response(
    "Malformed, expired, blacklisted or non-refresh token; with `X-Refresh-Cookie: 1`, also no cookie "
    "(not logged in). A refused cookie is cleared.",
    "invalid refresh token",
    "invalid_refresh_token",
)
CROSS_SITE_EXAMPLE = OpenApiExample(
    "cross_site_cookie", value=CrossSiteCookieError().as_dict(), response_only=True
)
DISABLED_EXAMPLE = OpenApiExample(
    "account_disabled", value=AccountDisabledError().as_dict(), response_only=True
)
COOKIE_OPT_IN = OpenApiParameter(
    cookies.OPT_IN_HEADER,
    {"type": "string", "enum": ["1"]},
    OpenApiParameter.HEADER,
    description="The web client's opt-in: the refresh token is set in HttpOnly, SameSite=Strict cookies "
    "(Secure under HTTPS), one scoped to `/api/refresh` and one to `/api/logout`, and left out of the "
    "body. Only from this server's origin (`Origin`), else 403 `cross_site_cookie`. Other clients omit it "
    "and keep the tokens in the body.",
)
LOGOUT_OPT_IN = OpenApiParameter(
    cookies.OPT_IN_HEADER,
    {"type": "string", "enum": ["1"]},
    OpenApiParameter.HEADER,
    description="The web client's: the refresh token is read from its cookie when the body has none, and "
    "the answer clears both cookies. Only from this server's origin (`Origin`), else 403 `cross_site_cookie`.",
)
SET_COOKIES = OpenApiParameter(
    "Set-Cookie",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description=f"With `{cookies.OPT_IN_HEADER}: 1` only: `{cookies.REFRESH_COOKIE}=...; HttpOnly; "
    f"SameSite=Strict; Path=/api/refresh` and `{cookies.LOGOUT_COOKIE}=...; Path=/api/logout` (the same token).",
)


def cookie_parameter(name: str, path: str) -> OpenApiParameter:
    """The OpenAPI declaration of one of the web client's refresh cookies."""
    return OpenApiParameter(
        name,
        str,
        OpenApiParameter.COOKIE,
        description=f"The web client's refresh token (HttpOnly, Path={path}), read when the body has no "
        f"`refresh_token`; honoured only with `{cookies.OPT_IN_HEADER}: 1` from this origin (CSRF), "
        "else 403 `cross_site_cookie`.",
    )
