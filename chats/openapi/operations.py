"""The chat operations, applied to chats.views.ChatViewSet with extend_schema_view."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from chatproject.fields import BIGINT_MAX
from chatproject.schema import INVALID_JSON, UNAUTHORIZED, error_response
from chats.openapi.payloads import (
    ChatDetailPayloadSerializer,
    ChatListPayloadSerializer,
    ChatPayloadSerializer,
    ReadStatePayloadSerializer,
)
from chats.serializers import (
    ChatRenameSerializer,
    GroupChatCreateSerializer,
    MarkReadSerializer,
    MembersAddSerializer,
    PrivateChatCreateSerializer,
)

CREATED_AT = "2026-01-05T10:30:00.000000Z"

PRIVATE_CHAT = {"id": 1, "type": "private", "name": None, "created_at": CREATED_AT}

GROUP_CHAT = {"id": 2, "type": "group", "name": "Project Team", "created_at": CREATED_AT}

MESSAGE = {
    "id": 10,
    "chat_id": 2,
    "sender_id": 1,
    "content": "Hello, world!",
    "created_at": "2026-01-05T10:40:00.000000Z",
    "edited_at": None,
    "seq": 7,
    "reply_to": None,
    "client_id": "7f1c2d9e-5b7a-4d0e-9a51-0c6f0b3e2a11",
    "attachments": [],
}

GROUP_DETAIL = {
    **GROUP_CHAT,
    "members": [
        {"id": 1, "username": "ivan", "role": "owner", "online": True, "last_read_seq": 42},
        {"id": 3, "username": "olga", "role": "admin", "online": False, "last_read_seq": 40},
        {"id": 4, "username": "petr", "role": "member", "online": True, "last_read_seq": 0},
    ],
}

ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX}

CHAT_ID = OpenApiParameter(
    "id",
    ID_SCHEMA,
    OpenApiParameter.PATH,
    description="Chat id. A chat that does not exist gets the same 403 as one you are not in.",
    examples=[OpenApiExample("chat", value=2)],
)

USER_ID = OpenApiParameter(
    "user_id",
    ID_SCHEMA,
    OpenApiParameter.PATH,
    description="The member to remove; your own id to leave.",
    examples=[OpenApiExample("member", value=4)],
)

NOT_MEMBER = error_response(
    "The chat does not exist or the caller is not a member (the same answer for both).",
    "user is not a member of the chat",
    "not_chat_member",
)

NO_ROUTE = error_response(
    "The id in the path is not an id: not decimal digits, or outside 1 to 2^63-1.", "not found", "not_found"
)

USER_NOT_FOUND = error_response("A user id names no active user.", "user not found: 7", "user_not_found")

NOT_ADMIN = error_response(
    "Not a member, or not the owner or an admin.",
    "only the chat owner or an admin can do this",
    "not_chat_admin",
)


class ObjectResponsesSchema(AutoSchema):
    """drf-spectacular wraps a `list` action's response in an array; ours is the seed's {"chats": [...]}."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


# The operations of chats.views.ChatViewSet, by view method.
chat_schema = extend_schema_view(
    list=extend_schema(
        operation_id="chats_list",
        responses={
            200: OpenApiResponse(
                ChatListPayloadSerializer,
                description="Every chat of the caller, most recently active first.",
                examples=[
                    OpenApiExample(
                        "chats",
                        value={
                            "chats": [
                                {**GROUP_CHAT, "last_message": MESSAGE, "unread_count": 3},
                                {**PRIVATE_CHAT, "last_message": None, "unread_count": 0},
                            ]
                        },
                        response_only=True,
                    )
                ],
            ),
            401: UNAUTHORIZED,
        },
    ),
    create_private=extend_schema(
        operation_id="chats_create_private",
        request=PrivateChatCreateSerializer,
        responses={
            200: OpenApiResponse(
                ChatPayloadSerializer,
                description="The private chat of the two users: the existing one if there is one.",
                examples=[OpenApiExample("chat", value=PRIVATE_CHAT, response_only=True)],
            ),
            400: error_response(
                "Malformed JSON, a missing or non-integer user_id, or your own id.",
                "cannot create a private chat with yourself",
                "private_chat_with_self",
            ),
            401: UNAUTHORIZED,
            404: USER_NOT_FOUND,
        },
        examples=[OpenApiExample("create", value={"user_id": 2}, request_only=True)],
    ),
    create_group=extend_schema(
        operation_id="chats_create_group",
        request=GroupChatCreateSerializer,
        responses={
            200: OpenApiResponse(
                ChatPayloadSerializer,
                description="The new group; the caller is its owner.",
                examples=[OpenApiExample("chat", value=GROUP_CHAT, response_only=True)],
            ),
            400: INVALID_JSON,
            401: UNAUTHORIZED,
            404: USER_NOT_FOUND,
        },
        examples=[
            OpenApiExample(
                "create", value={"name": "Project Team", "participants": [2, 3, 4]}, request_only=True
            )
        ],
    ),
    retrieve=extend_schema(
        operation_id="chats_retrieve",
        parameters=[CHAT_ID],
        responses={
            200: OpenApiResponse(
                ChatDetailPayloadSerializer,
                description="The chat and its members, oldest member first.",
                examples=[OpenApiExample("chat", value=GROUP_DETAIL, response_only=True)],
            ),
            401: UNAUTHORIZED,
            403: NOT_MEMBER,
            404: NO_ROUTE,
        },
    ),
    partial_update=extend_schema(
        operation_id="chats_rename",
        parameters=[CHAT_ID],
        request=ChatRenameSerializer,
        responses={
            200: OpenApiResponse(
                ChatDetailPayloadSerializer,
                description="The renamed chat.",
                examples=[OpenApiExample("chat", value=GROUP_DETAIL, response_only=True)],
            ),
            400: error_response(
                "Malformed JSON, a bad name, or a private chat.",
                "only group chats can be renamed",
                "not_group_chat",
            ),
            401: UNAUTHORIZED,
            403: NOT_ADMIN,
            404: NO_ROUTE,
        },
        examples=[OpenApiExample("rename", value={"name": "Release crew"}, request_only=True)],
    ),
    members=extend_schema(
        operation_id="chats_members_add",
        parameters=[CHAT_ID],
        request=MembersAddSerializer,
        responses={
            200: OpenApiResponse(
                ChatDetailPayloadSerializer,
                description="The chat with its members after the addition.",
                examples=[OpenApiExample("chat", value=GROUP_DETAIL, response_only=True)],
            ),
            400: error_response(
                "Malformed JSON or ids, or a private chat (fixed membership).",
                "private chats have fixed membership",
                "private_chat_membership",
            ),
            401: UNAUTHORIZED,
            403: NOT_ADMIN,
            404: error_response(
                "A user id names no active user (nothing is added), or the chat id is not an integer.",
                "user not found: 7",
                "user_not_found",
            ),
        },
        examples=[OpenApiExample("add", value={"user_ids": [5, 6]}, request_only=True)],
    ),
    remove_member=extend_schema(
        operation_id="chats_members_remove",
        parameters=[CHAT_ID, USER_ID],
        request=None,
        responses={
            204: OpenApiResponse(description="Removed (or left); they lose access at once."),
            400: error_response(
                "A private chat (fixed membership).",
                "private chats have fixed membership",
                "private_chat_membership",
            ),
            401: UNAUTHORIZED,
            403: error_response(
                "Not a member; not the owner or an admin; or an admin removing the owner or an admin.",
                "user is not a member of the chat",
                "not_chat_member",
            ),
            404: error_response(
                "The user is not in the chat, or an id is not an integer.",
                "member not found",
                "member_not_found",
            ),
        },
    ),
    read=extend_schema(
        operation_id="chats_mark_read",
        parameters=[CHAT_ID],
        request=MarkReadSerializer,
        responses={
            200: OpenApiResponse(
                ReadStatePayloadSerializer,
                description="The caller's read marker (it never moves backwards) and unread count.",
                examples=[
                    OpenApiExample(
                        "read",
                        value={"chat_id": 2, "last_read_seq": 7, "unread_count": 0},
                        response_only=True,
                    )
                ],
            ),
            400: error_response(
                "Malformed JSON, or seq after the newest message.",
                "seq must be between 0 and the seq of the newest message",
                "invalid_seq",
            ),
            401: UNAUTHORIZED,
            403: NOT_MEMBER,
            404: NO_ROUTE,
        },
        examples=[OpenApiExample("read", value={"seq": 7}, request_only=True)],
    ),
)
