"""Chat endpoints: a thin DRF viewset over chats.services and chats.selectors."""

from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import authenticated_user
from accounts.models import User
from chatproject import converters
from chats import access, inbox, selectors, services
from chats.openapi import ObjectResponsesSchema, chat_schema
from chats.payloads import chat_detail_payload, chat_list_payload, chat_payload, read_state_payload
from chats.serializers import (
    ChatRenameSerializer,
    GroupChatCreateSerializer,
    MarkReadSerializer,
    MembersAddSerializer,
    PrivateChatCreateSerializer,
)
from realtime.presence.selectors import online_user_ids


def _chat_detail(chat_id: int, user: User) -> Response:
    chat, members = selectors.chat_members(chat_id=chat_id, user=user)
    # Presence: one Redis round trip for all members, no query.
    online_ids = online_user_ids([member.user_id for member in members])
    return Response(chat_detail_payload(chat, members, online_ids=online_ids))


@chat_schema
class ChatViewSet(viewsets.ViewSet):
    """Chats of the authenticated user."""

    lookup_value_converter = converters.ID  # 1 ..= 2**63 - 1, else the URL does not match (404)
    schema = ObjectResponsesSchema()

    def list(self, request: Request) -> Response:
        """The caller's chats with their newest message and unread count, most recently active first."""
        return Response(chat_list_payload(inbox.chat_list_for_user(user=authenticated_user(request))))

    @action(detail=False, methods=["post"], url_path="private")
    def create_private(self, request: Request) -> Response:
        """Open the private chat with another user (created once, returned on every later call)."""
        data = PrivateChatCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chat, _ = services.chat_create_private(
            user=authenticated_user(request), other_user_id=data.validated_data["user_id"]
        )
        return Response(chat_payload(chat))

    @action(detail=False, methods=["post"], url_path="group")
    def create_group(self, request: Request) -> Response:
        """Create a group chat with the caller as owner and the participants as members."""
        data = GroupChatCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chat = services.chat_create_group(
            creator=authenticated_user(request),
            name=data.validated_data["name"],
            participant_ids=data.validated_data["participants"],
        )
        return Response(chat_payload(chat))

    def retrieve(self, request: Request, pk: int) -> Response:
        """One chat of the caller, with its members."""
        return _chat_detail(pk, authenticated_user(request))

    def partial_update(self, request: Request, pk: int) -> Response:
        """Rename a group chat (owner or admin); without `name`, change nothing and return the chat."""
        data = ChatRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "name" in data.validated_data:
            services.chat_rename(
                chat_id=pk, actor=authenticated_user(request), name=data.validated_data["name"]
            )
        return _chat_detail(pk, authenticated_user(request))

    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request: Request, pk: int) -> Response:
        """Add users to a group chat (owner or admin); users already in it are skipped."""
        data = MembersAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.member_add(
            chat_id=pk, actor=authenticated_user(request), user_ids=data.validated_data["user_ids"]
        )
        return _chat_detail(pk, authenticated_user(request))

    @action(detail=True, methods=["delete"], url_path=f"members/<{converters.ID}:user_id>")
    def remove_member(self, request: Request, pk: int, user_id: int) -> Response:
        """Remove a member (owner, or admin for plain members) or leave (your own id)."""
        services.member_remove(chat_id=pk, actor=authenticated_user(request), user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request: Request, pk: int) -> Response:
        """Mark the chat read up to a message's seq; drives unread_count."""
        data = MarkReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticated_user(request)
        last_read = services.chat_mark_read(chat_id=pk, user=user, seq=data.validated_data["seq"])
        member = access.access_membership(chat_id=pk, user=user)
        return Response(
            read_state_payload(
                chat_id=member.chat_id,
                last_read_seq=last_read,
                unread_count=selectors.unread_count(last_seq=member.chat.last_seq, last_read_seq=last_read),
            )
        )
