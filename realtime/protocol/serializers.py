"""Validation of client frames' payloads (DRF serializers; send_message reuses messaging's)."""

from typing import Any

from rest_framework import serializers

from chatproject.fields import BIGINT_MAX, StrictIntegerField, parse_id
from messaging.serializers import MessageContentField, MessageSendSerializer

__all__ = [
    "DeleteMessageFrameSerializer",
    "EditMessageFrameSerializer",
    "MessageSendSerializer",
    "ReadFrameSerializer",
    "ResumeFrameSerializer",
    "TypingFrameSerializer",
]

# A socket may resume at most this many chats in one frame.
RESUME_MAX_CHATS = 1000


class TypingFrameSerializer(serializers.Serializer[Any]):
    """`typing` payload."""

    chat_id = StrictIntegerField(min_value=1, max_value=BIGINT_MAX)


class ReadFrameSerializer(serializers.Serializer[Any]):
    """`read` payload."""

    chat_id = StrictIntegerField(min_value=1, max_value=BIGINT_MAX)
    seq = StrictIntegerField(min_value=0, max_value=BIGINT_MAX)


def _chat_id_keys(value: dict[str, int]) -> dict[int, int]:
    """Keys are chat ids written as strings (JSON object keys)."""
    if len(value) > RESUME_MAX_CHATS:
        raise serializers.ValidationError("too many chats")
    chats: dict[int, int] = {}
    for key, number in value.items():
        # parse_id, not int(): "²" is a digit to isdigit() and 5,000 digits are too many for int().
        chat_id = parse_id(key)
        if chat_id is None:
            raise serializers.ValidationError("chat ids must be positive integers")
        chats[chat_id] = number
    return chats


class ResumeFrameSerializer(serializers.Serializer[Any]):
    """`resume` payload: {"chats": {"<chat_id>": <last seen seq>}[, "versions": {"<chat_id>": <version>}]}."""

    chats = serializers.DictField(
        child=StrictIntegerField(min_value=0, max_value=BIGINT_MAX), allow_empty=True
    )
    # Optional change cursors (highest message `version` seen per chat): changes are replayed too.
    versions = serializers.DictField(
        child=StrictIntegerField(min_value=0, max_value=BIGINT_MAX), allow_empty=True, required=False
    )

    def validate_chats(self, value: dict[str, int]) -> dict[int, int]:
        """Keys are chat ids written as strings (JSON object keys)."""
        return _chat_id_keys(value)

    def validate_versions(self, value: dict[str, int]) -> dict[int, int]:
        """Keys are chat ids written as strings (JSON object keys)."""
        return _chat_id_keys(value)


# --- edits, deletions ------------------------------------------------------------------------------


class EditMessageFrameSerializer(serializers.Serializer[Any]):
    """`edit_message` payload: the same content rules as PATCH /api/messages/{id}."""

    message_id = StrictIntegerField(min_value=1, max_value=BIGINT_MAX)
    content = MessageContentField()


class DeleteMessageFrameSerializer(serializers.Serializer[Any]):
    """`delete_message` payload."""

    message_id = StrictIntegerField(min_value=1, max_value=BIGINT_MAX)


# --- re-authentication -----------------------------------------------------------------------------

# Far above any access token this server signs (a few hundred bytes); the frame limit caps it anyway.
ACCESS_TOKEN_MAX_LENGTH = 4096


class AuthFrameSerializer(serializers.Serializer[Any]):
    """`auth` payload: {"token": "<fresh access token>"}."""

    token = serializers.CharField(max_length=ACCESS_TOKEN_MAX_LENGTH, trim_whitespace=False)
