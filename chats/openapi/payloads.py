"""Documentation serializers of chats.payloads: each shape a payload function builds, for the schema."""

from typing import Any

from rest_framework import serializers

from chats.models import Chat, ChatMember
from messaging.openapi.payloads import MessagePayloadSerializer


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
