"""The user directory: search, and one user by id."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

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

users_search_schema = extend_schema(
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

users_retrieve_schema = extend_schema(
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
