"""Chat -> JSON-ready dict: the one shape used by REST responses and WebSocket frames.

Each payload function has a documentation serializer beside it, so the OpenAPI schema and the
shape change together (schemathesis checks every response against it).
"""

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from rest_framework import serializers

from chatproject.fields import iso_datetime
from chats.models import Chat, ChatMember
from messaging.payloads import MessagePayloadSerializer, message_payload

if TYPE_CHECKING:
    from chats.inbox import ChatListEntry


def chat_payload(chat: Chat) -> dict[str, Any]:
    """The seed's chat shape plus `name`: {id, type, name, created_at}."""
    return {
        "id": chat.pk,
        "type": chat.type,
        "name": chat.name,
        "created_at": iso_datetime(chat.created_at),
    }


def member_payload(member: ChatMember, *, online: bool) -> dict[str, Any]:
    """One member of a chat: {id, username, role, online, last_read_seq} (member.user must be loaded)."""
    return {
        "id": member.user_id,
        "username": member.user.username,
        "role": member.role,
        "online": online,
        "last_read_seq": member.last_read_seq,
    }


def chat_detail_payload(
    chat: Chat, members: Iterable[ChatMember], *, online_ids: Collection[int]
) -> dict[str, Any]:
    """GET /api/chats/{id}: the chat with its members; `online_ids` are the users online now."""
    return {
        **chat_payload(chat),
        "members": [member_payload(member, online=member.user_id in online_ids) for member in members],
    }


def chat_list_payload(entries: Iterable["ChatListEntry"]) -> dict[str, Any]:
    """GET /api/chats: {"chats": [...]}, each chat with its newest message (or null) and unread count."""
    return {
        "chats": [
            {
                **chat_payload(entry.chat),
                "last_message": message_payload(entry.last_message) if entry.last_message else None,
                "unread_count": entry.unread_count,
            }
            for entry in entries
        ]
    }


def read_state_payload(*, chat_id: int, last_read_seq: int, unread_count: int) -> dict[str, Any]:
    """POST /api/chats/{id}/read: where the caller's read marker now is."""
    return {"chat_id": chat_id, "last_read_seq": last_read_seq, "unread_count": unread_count}


def read_event_payload(*, chat_id: int, user_id: int, seq: int) -> dict[str, Any]:
    """The `read` event: a member has read up to `seq`."""
    return {"chat_id": chat_id, "user_id": user_id, "seq": seq}


class ChatPayloadSerializer(serializers.Serializer[Any]):
    """A chat (documentation of chat_payload)."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=Chat.Type.choices)
    name = serializers.CharField(allow_null=True, help_text="Group name; null for private chats.")
    created_at = serializers.DateTimeField()


class MemberPayloadSerializer(serializers.Serializer[Any]):
    """A chat member (documentation of member_payload)."""

    id = serializers.IntegerField(help_text="The user's id.")
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=ChatMember.Role.choices)
    online = serializers.BooleanField(
        help_text="At least one WebSocket of this user is open now (on any server process)."
    )
    last_read_seq = serializers.IntegerField(
        min_value=0,
        help_text="The member's read marker: they have read every message up to this seq (0: none). "
        "Moves with POST /api/chats/{id}/read and the `read` event.",
    )


class ChatDetailPayloadSerializer(ChatPayloadSerializer):
    """A chat with its members (documentation of chat_detail_payload)."""

    members = MemberPayloadSerializer(many=True)


class ChatListItemPayloadSerializer(ChatPayloadSerializer):
    """One entry of the chat list."""

    last_message = MessagePayloadSerializer(allow_null=True)
    unread_count = serializers.IntegerField(min_value=0)


class ChatListPayloadSerializer(serializers.Serializer[Any]):
    """{"chats": [...]} (documentation of chat_list_payload)."""

    chats = ChatListItemPayloadSerializer(many=True)


class ReadStatePayloadSerializer(serializers.Serializer[Any]):
    """Documentation of read_state_payload."""

    chat_id = serializers.IntegerField()
    last_read_seq = serializers.IntegerField(min_value=0)
    unread_count = serializers.IntegerField(min_value=0)
