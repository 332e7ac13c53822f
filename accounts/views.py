"""Account endpoints: thin transports over accounts.services."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.models import User
from accounts.payloads import user_payload
from accounts.serializers import (
    LoginSerializer,
    RefreshTokenSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.throttles import LoginThrottle, RefreshThrottle, RegisterThrottle
from chatproject.schema import INVALID_JSON, THROTTLED, UNAUTHORIZED, error_response

USER_EXAMPLE = OpenApiExample(
    "user", value={"id": 1, "username": "ivan", "email": "ivan@example.com"}, response_only=True
)
TOKENS_EXAMPLE = OpenApiExample(
    "tokens",
    value={"access_token": "eyJhbGciOiJIUzI1NiIs...", "refresh_token": "eyJhbGciOiJIUzI1NiIs..."},
    response_only=True,
)
INVALID_REFRESH = error_response(
    "Malformed, expired, blacklisted or non-refresh token.", "invalid refresh token", "invalid_refresh_token"
)


def _tokens(pair: services.TokenPair) -> dict[str, str]:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token}


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
        200: OpenApiResponse(TokenPairSerializer, examples=[TOKENS_EXAMPLE]),
        400: INVALID_JSON,
        401: error_response("Wrong password.", "invalid password", "invalid_password"),
        403: error_response("The account was deactivated.", "account disabled", "account_disabled"),
        404: error_response("No account has this email.", "user not found", "user_not_found"),
        429: THROTTLED,
    },
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
    """Exchange email and password for {access_token, refresh_token}."""
    data = LoginSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return Response(_tokens(services.user_login(**data.validated_data)))


@extend_schema(
    operation_id="refresh",
    auth=[],
    request=RefreshTokenSerializer,
    responses={
        200: OpenApiResponse(TokenPairSerializer, examples=[TOKENS_EXAMPLE]),
        400: INVALID_JSON,
        401: INVALID_REFRESH,
        403: error_response("The account was deactivated.", "account disabled", "account_disabled"),
        429: THROTTLED,
    },
    examples=[
        OpenApiExample("refresh", value={"refresh_token": "eyJhbGciOiJIUzI1NiIs..."}, request_only=True)
    ],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([RefreshThrottle])
def refresh(request: Request) -> Response:
    """Rotate a refresh token: the old one is blacklisted, a new pair returned."""
    data = RefreshTokenSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return Response(_tokens(services.token_refresh(**data.validated_data)))


@extend_schema(
    operation_id="logout",
    request=RefreshTokenSerializer,
    responses={
        204: OpenApiResponse(description="The refresh token no longer works."),
        400: INVALID_JSON,
        401: UNAUTHORIZED,
        403: error_response(
            "The token is another user's.", "refresh token belongs to another user", "token_not_yours"
        ),
    },
    examples=[
        OpenApiExample("logout", value={"refresh_token": "eyJhbGciOiJIUzI1NiIs..."}, request_only=True)
    ],
)
@api_view(["POST"])
def logout(request: Request) -> Response:
    """Revoke one of the caller's refresh tokens."""
    data = RefreshTokenSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    user: User = request.user  # type: ignore[assignment]
    services.token_revoke(user=user, **data.validated_data)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    operation_id="me",
    responses={200: OpenApiResponse(UserSerializer, examples=[USER_EXAMPLE]), 401: UNAUTHORIZED},
)
@api_view(["GET"])
def me(request: Request) -> Response:
    """The caller's own account."""
    user: User = request.user  # type: ignore[assignment]
    return Response(user_payload(user))
