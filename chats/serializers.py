"""Input validation for chat endpoints (reusable by WebSocket commands)."""

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from chatproject.fields import BIGINT_MAX, StrictCharField, StrictIntegerField

# Ids per request: far above any real group, low enough to keep one request cheap.
MAX_IDS_PER_REQUEST = 1000

_NOT_BLANK = RegexValidator(r"\S", message="This field may not be blank.")


def user_id_field(**kwargs: Any) -> StrictIntegerField:
    """A user id: an integer in the database id range."""
    return StrictIntegerField(min_value=1, max_value=BIGINT_MAX, **kwargs)


def chat_name_field(**kwargs: Any) -> StrictCharField:
    """A group name: 1 to 255 characters, not only whitespace (stored trimmed)."""
    return StrictCharField(max_length=255, trim_whitespace=False, validators=[_NOT_BLANK], **kwargs)


class PrivateChatCreateSerializer(serializers.Serializer[Any]):
    """POST /api/chats/private body."""

    user_id = user_id_field(help_text="The other person.")


class GroupChatCreateSerializer(serializers.Serializer[Any]):
    """POST /api/chats/group body."""

    name = chat_name_field()
    participants = serializers.ListField(
        child=user_id_field(),
        max_length=MAX_IDS_PER_REQUEST,
        help_text="User ids to add as members; duplicates and the creator are ignored.",
    )


class ChatRenameSerializer(serializers.Serializer[Any]):
    """PATCH /api/chats/{id} body: every field optional, as PATCH goes (an empty body changes nothing)."""

    name = chat_name_field(required=False)


class MembersAddSerializer(serializers.Serializer[Any]):
    """POST /api/chats/{id}/members body."""

    user_ids = serializers.ListField(
        child=user_id_field(),
        min_length=1,
        max_length=MAX_IDS_PER_REQUEST,
        help_text="Users to add; those already in the chat are skipped.",
    )


class MarkReadSerializer(serializers.Serializer[Any]):
    """POST /api/chats/{id}/read body."""

    seq = StrictIntegerField(
        min_value=0, max_value=BIGINT_MAX, help_text="Everything up to this message's seq is read."
    )
