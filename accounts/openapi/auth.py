"""The token operations: register, login, refresh, logout."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from accounts import cookies
from accounts.errors import TokenNotYoursError
from accounts.openapi.examples import (
    ACCESS_ONLY_EXAMPLE,
    COOKIE_OPT_IN,
    CROSS_SITE_EXAMPLE,
    DISABLED_EXAMPLE,
    INVALID_REFRESH,
    LOGOUT_OPT_IN,
    SET_COOKIES,
    TOKENS_EXAMPLE,
    USER_EXAMPLE,
    cookie_parameter,
)
from accounts.serializers import (
    LoginSerializer,
    RefreshTokenBodySerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from chatproject.schema import INVALID_JSON, THROTTLED, UNAUTHORIZED, ErrorSerializer, error_response

register_schema = extend_schema(
    operation_id="register",
    auth=[],
    request=RegisterSerializer,
    responses={
        201: OpenApiResponse(UserSerializer, examples=[USER_EXAMPLE]),
        400: INVALID_JSON,
        409: error_response("An account has this email.", "email already exists", "email_exists"),
        429: THROTTLED,
    },
    examples=[
        OpenApiExample(
            "register",
            value={"username": "ivan", "email": "ivan@example.com", "password": "correct horse battery"},
            request_only=True,
        )
    ],
)

login_schema = extend_schema(
    operation_id="login",
    auth=[],
    request=LoginSerializer,
    responses={
        200: OpenApiResponse(TokenPairSerializer, examples=[TOKENS_EXAMPLE, ACCESS_ONLY_EXAMPLE]),
        400: INVALID_JSON,
        401: error_response("Wrong password.", "invalid password", "invalid_password"),
        403: OpenApiResponse(
            ErrorSerializer,
            description="The account was deactivated, or the cookie was asked for from another origin.",
            examples=[DISABLED_EXAMPLE, CROSS_SITE_EXAMPLE],
        ),
        404: error_response("No account has this email.", "user not found", "user_not_found"),
        429: THROTTLED,
    },
    parameters=[COOKIE_OPT_IN, SET_COOKIES],
    examples=[
        OpenApiExample(
            "login",
            value={"email": "ivan@example.com", "password": "correct horse battery"},
            request_only=True,
        )
    ],
)

refresh_schema = extend_schema(
    operation_id="refresh",
    auth=[],
    request=RefreshTokenBodySerializer,
    responses={
        200: OpenApiResponse(TokenPairSerializer, examples=[TOKENS_EXAMPLE, ACCESS_ONLY_EXAMPLE]),
        400: INVALID_JSON,
        401: INVALID_REFRESH,
        403: OpenApiResponse(
            ErrorSerializer,
            description="The account was deactivated, or the cookie came without `X-Refresh-Cookie: 1` "
            "or from another origin (CSRF).",
            examples=[DISABLED_EXAMPLE, CROSS_SITE_EXAMPLE],
        ),
        429: THROTTLED,
    },
    parameters=[COOKIE_OPT_IN, cookie_parameter(cookies.REFRESH_COOKIE, "/api/refresh"), SET_COOKIES],
    examples=[
        OpenApiExample("refresh", value={"refresh_token": "eyJhbGciOiJIUzI1NiIs..."}, request_only=True),
        OpenApiExample("web client (cookie)", value={}, request_only=True),
    ],
)

logout_schema = extend_schema(
    operation_id="logout",
    request=RefreshTokenBodySerializer,
    responses={
        204: OpenApiResponse(
            description="The refresh token no longer works; the web client's cookies are cleared."
        ),
        400: INVALID_JSON,
        401: UNAUTHORIZED,
        403: OpenApiResponse(
            ErrorSerializer,
            description="The token is another user's, or the cookie came without `X-Refresh-Cookie: 1` "
            "or from another origin (CSRF).",
            examples=[
                OpenApiExample("token_not_yours", value=TokenNotYoursError().as_dict(), response_only=True),
                CROSS_SITE_EXAMPLE,
            ],
        ),
    },
    parameters=[LOGOUT_OPT_IN, cookie_parameter(cookies.LOGOUT_COOKIE, "/api/logout")],
    examples=[
        OpenApiExample("logout", value={"refresh_token": "eyJhbGciOiJIUzI1NiIs..."}, request_only=True),
        OpenApiExample("web client (cookie)", value={}, request_only=True),
    ],
)
