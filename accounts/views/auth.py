"""Register, login, refresh, logout: tokens in the JSON body, or the web client's refresh cookie."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import cookies, services
from accounts.authentication import authenticated_user
from accounts.errors import (
    AccountDisabledError,
    InvalidRefreshTokenError,
    TokenNotYoursError,
)
from accounts.payloads import user_payload
from accounts.serializers import (
    LoginSerializer,
    RefreshTokenBodySerializer,
    RefreshTokenSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.throttles import (
    LoginThrottle,
    RefreshThrottle,
    RegisterThrottle,
)
from accounts.views.schemas import (
    ACCESS_ONLY_EXAMPLE,
    COOKIE_OPT_IN,
    CROSS_SITE_EXAMPLE,
    DISABLED_EXAMPLE,
    INVALID_REFRESH,
    LOGOUT_OPT_IN,
    SET_COOKIES,
    TOKENS_EXAMPLE,
    USER_EXAMPLE,
    _cookie_parameter,
)
from chatproject.errors import DomainError
from chatproject.schema import INVALID_JSON, THROTTLED, UNAUTHORIZED, ErrorSerializer, error_response


def _tokens(pair: services.TokenPair) -> dict[str, str]:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token}


def _tokens_response(request: Request, pair: services.TokenPair, *, as_cookie: bool) -> Response:
    """The seed's {access_token, refresh_token}; for the web client, the refresh token in its cookies."""
    if not as_cookie:
        return Response(_tokens(pair))
    response = Response({"access_token": pair.access_token})
    cookies.set_refresh_cookies(response, request, pair.refresh_token)
    return response


def _cookie_refused(error: DomainError) -> Response:
    """`error`'s answer, clearing the cookie that held a token the server no longer honours."""
    response = Response(error.as_dict(), status=error.status_code, headers=error.headers)
    cookies.clear_refresh_cookies(response)
    return response


@extend_schema(
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
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([RegisterThrottle])
def register(request: Request) -> Response:
    """Create an account: 201 {id, username, email}."""
    data = RegisterSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    user = services.user_register(**data.validated_data)
    return Response(user_payload(user), status=status.HTTP_201_CREATED)


@extend_schema(
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
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([LoginThrottle])
def login(request: Request) -> Response:
    """Exchange email and password for {access_token, refresh_token} (the web client's refresh token in cookies).

    Raises CrossSiteCookieError.
    """
    as_cookie = cookies.cookie_requested(request)
    data = LoginSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return _tokens_response(request, services.user_login(**data.validated_data), as_cookie=as_cookie)


@extend_schema(
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
    parameters=[COOKIE_OPT_IN, _cookie_parameter(cookies.REFRESH_COOKIE, "/api/refresh"), SET_COOKIES],
    examples=[
        OpenApiExample("refresh", value={"refresh_token": "eyJhbGciOiJIUzI1NiIs..."}, request_only=True),
        OpenApiExample("web client (cookie)", value={}, request_only=True),
    ],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([RefreshThrottle])
def refresh(request: Request) -> Response:
    """Rotate a refresh token (the body's, or the web client's cookie): the old one is blacklisted, a new pair returned.

    Raises CrossSiteCookieError, InvalidRefreshTokenError, AccountDisabledError.
    """
    raw, from_cookie = cookies.refresh_token_input(request, cookie=cookies.REFRESH_COOKIE)
    as_cookie = from_cookie or cookies.cookie_requested(request)
    data = RefreshTokenSerializer(data=raw)
    data.is_valid(raise_exception=True)
    try:
        pair = services.token_refresh(**data.validated_data)
    except (InvalidRefreshTokenError, AccountDisabledError) as error:
        if not from_cookie:
            raise
        return _cookie_refused(error)
    return _tokens_response(request, pair, as_cookie=as_cookie)


@extend_schema(
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
    parameters=[LOGOUT_OPT_IN, _cookie_parameter(cookies.LOGOUT_COOKIE, "/api/logout")],
    examples=[
        OpenApiExample("logout", value={"refresh_token": "eyJhbGciOiJIUzI1NiIs..."}, request_only=True),
        OpenApiExample("web client (cookie)", value={}, request_only=True),
    ],
)
@api_view(["POST"])
def logout(request: Request) -> Response:
    """Revoke one of the caller's refresh tokens (the body's, or the web client's cookie, then cleared).

    Raises CrossSiteCookieError, InvalidRefreshTokenError, TokenNotYoursError.
    """
    raw, from_cookie = cookies.refresh_token_input(request, cookie=cookies.LOGOUT_COOKIE)
    as_cookie = from_cookie or cookies.cookie_requested(request)
    data = RefreshTokenSerializer(data=raw)
    data.is_valid(raise_exception=True)
    user = authenticated_user(request)
    try:
        services.token_revoke(user=user, **data.validated_data)
    except InvalidRefreshTokenError as error:
        if not from_cookie:
            raise
        return _cookie_refused(error)
    response = Response(status=status.HTTP_204_NO_CONTENT)
    if as_cookie:
        cookies.clear_refresh_cookies(response)
    return response
