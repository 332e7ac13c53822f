"""Other users: search by name or email, and one user by id."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors
from accounts.authentication import authenticated_user
from accounts.payloads import user_public_payload
from accounts.throttles import (
    UserSearchThrottle,
)
from chatproject.fields import BIGINT_MAX
from chatproject.schema import THROTTLED, UNAUTHORIZED, error_response


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
