"""Account endpoints: thin transports over accounts.services."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import cookies, selectors, services
from accounts.authentication import authenticated_user
from accounts.errors import (
    AccountDisabledError,
    CrossSiteCookieError,
    InvalidRefreshTokenError,
    TokenNotYoursError,
    WrongOldPasswordError,
)
from accounts.payloads import user_payload, user_public_payload
from accounts.serializers import (
    LoginSerializer,
    MeUpdateSerializer,
    PasswordChangeSerializer,
    RefreshTokenBodySerializer,
    RefreshTokenSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.sessions import token_session
from accounts.throttles import (
    LoginThrottle,
    PasswordChangeThrottle,
    RefreshThrottle,
    RegisterThrottle,
    UserSearchThrottle,
)
from chatproject.errors import DomainError, error_body
from chatproject.fields import BIGINT_MAX
from chatproject.schema import INVALID_JSON, THROTTLED, UNAUTHORIZED, ErrorSerializer, error_response

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


def _cookie_parameter(name: str, path: str) -> OpenApiParameter:
    """The OpenAPI declaration of one of the web client's refresh cookies."""
    return OpenApiParameter(
        name,
        str,
        OpenApiParameter.COOKIE,
        description=f"The web client's refresh token (HttpOnly, Path={path}), read when the body has no "
        f"`refresh_token`; honoured only with `{cookies.OPT_IN_HEADER}: 1` from this origin (CSRF), "
        "else 403 `cross_site_cookie`.",
    )


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


@extend_schema(
    methods=["GET"],
    operation_id="me",
    responses={200: OpenApiResponse(UserSerializer, examples=[USER_EXAMPLE]), 401: UNAUTHORIZED},
)
@extend_schema(
    methods=["PATCH"],
    operation_id="me_update",
    description="Change your username (a display name: 1 to 100 characters once trimmed, not unique, the "
    "registration rule). Any other member, `email` included, is 400: an email cannot be changed. An empty "
    "body changes nothing.",
    request=MeUpdateSerializer,
    responses={
        200: OpenApiResponse(UserSerializer, examples=[USER_EXAMPLE]),
        400: error_response(
            "Malformed JSON, a bad username, or a member that cannot be changed.",
            "username: This field may not be blank.",
            "invalid",
        ),
        401: UNAUTHORIZED,
    },
    examples=[OpenApiExample("rename", value={"username": "ivan"}, request_only=True)],
)
@api_view(["GET", "PATCH"])
def me(request: Request) -> Response:
    """The caller's own account; PATCH renames it."""
    user = authenticated_user(request)
    if request.method == "PATCH":
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "username" in data.validated_data:
            user = services.user_rename(user=user, username=data.validated_data["username"])
    return Response(user_payload(user))


@extend_schema(
    operation_id="password_change",
    description="Change your password. Every other login session of yours ends at once: its refresh tokens "
    "are revoked, its access tokens refused (401), its WebSockets closed with 4410. The session whose access "
    "token made the change keeps working (its tokens and sockets). Throttled per user (THROTTLE_PASSWORD).",
    request=PasswordChangeSerializer,
    responses={
        204: OpenApiResponse(description="Changed; other sessions are logged out."),
        400: OpenApiResponse(
            ErrorSerializer,
            description="Malformed JSON or fields, a wrong old password (`wrong_old_password`), or a new "
            "password the validators refuse (`fields.new_password`).",
            examples=[
                OpenApiExample(
                    "wrong_old_password", value=WrongOldPasswordError().as_dict(), response_only=True
                ),
                OpenApiExample(
                    "weak",
                    value=error_body(
                        "new_password: This password is too common.",
                        "invalid",
                        fields={"new_password": ["This password is too common."]},
                    ),
                    response_only=True,
                ),
            ],
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
    },
    examples=[
        OpenApiExample(
            "change",
            value={"old_password": "correct horse battery", "new_password": "staple gun orbit 42"},
            request_only=True,
        )
    ],
)
@api_view(["POST"])
@throttle_classes([PasswordChangeThrottle])
def password_change(request: Request) -> Response:
    """Set a new password; other sessions are logged out, the caller's stays."""
    data = PasswordChangeSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    services.user_password_change(
        user=authenticated_user(request),
        session=token_session(request.auth.payload),  # type: ignore[union-attr]
        **data.validated_data,
    )
    return Response(status=status.HTTP_204_NO_CONTENT)


class PublicUserSerializer(serializers.Serializer[Any]):
    """Another user as anyone may see them: {id, username}."""

    id = serializers.IntegerField()
    username = serializers.CharField()


class UserListSerializer(serializers.Serializer[Any]):
    """GET /api/users: {"users": [...]}."""

    users = PublicUserSerializer(many=True)


USER_NOT_FOUND = error_response(
    "No active user with this id shares a chat with you (the same answer for a missing id).",
    "user not found",
    "user_not_found",
)


@extend_schema(
    operation_id="users_search",
    parameters=[
        OpenApiParameter(
            "search",
            {"type": "string", "minLength": 3},
            OpenApiParameter.QUERY,
            required=True,
            description="A whole email (case-insensitive) or the first 3+ characters of a username.",
            examples=[OpenApiExample("prefix", value="iva")],
        )
    ],
    responses={
        200: OpenApiResponse(
            UserListSerializer,
            examples=[OpenApiExample("users", value={"users": [{"id": 2, "username": "ivan"}]})],
        ),
        400: error_response(
            "Under 3 characters and not an email.",
            "search needs at least 3 characters, or a whole email",
            "search_too_short",
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
    },
)
@api_view(["GET"])
@throttle_classes([UserSearchThrottle])
def users_search(request: Request) -> Response:
    """The user directory: active users by exact email or username prefix, at most 20, no emails."""
    user = authenticated_user(request)
    found = selectors.user_search(text=request.query_params.get("search", ""), user=user)
    return Response({"users": [user_public_payload(other) for other in found]})


@extend_schema(
    operation_id="users_retrieve",
    parameters=[
        OpenApiParameter(
            "id",
            {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX},
            OpenApiParameter.PATH,
            description="User id.",
        )
    ],
    responses={
        200: OpenApiResponse(
            PublicUserSerializer, examples=[OpenApiExample("user", value={"id": 2, "username": "ivan"})]
        ),
        401: UNAUTHORIZED,
        404: USER_NOT_FOUND,
    },
)
@api_view(["GET"])
def user_detail(request: Request, pk: int) -> Response:
    """Yourself or a user you share a chat with: {id, username}."""
    viewer = authenticated_user(request)
    return Response(user_public_payload(selectors.user_get_visible(user_id=pk, viewer=viewer)))
