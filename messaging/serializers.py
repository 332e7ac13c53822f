"""Input validation for message endpoints (reusable by WebSocket commands)."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from chatproject.fields import BIGINT_MAX, StrictCharField, StrictIntegerField
from messaging.models import CLIENT_ID_MAX_LENGTH
from messaging.selectors import DEFAULT_PAGE_SIZE


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": settings.MESSAGE_MAX_LENGTH,
        "pattern": r"\S",
        "description": "The text; surrounding whitespace is trimmed. Empty or whitespace-only content is "
        f"rejected (message_empty), as is content over {settings.MESSAGE_MAX_LENGTH} characters "
        "(message_too_long).",
    }
)
class MessageContentField(StrictCharField):
    """Message text: any string here; messaging.services applies the emptiness and length rules."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        """Let "" through: the service answers it with the seed's "message content cannot be empty"."""
        if data == "":
            return ""
        return super().run_validation(data)


class MessageSendSerializer(serializers.Serializer[Any]):
    """POST /api/messages/send body (and the WebSocket send_message payload)."""

    chat_id = StrictIntegerField(min_value=1, max_value=BIGINT_MAX)
    content = MessageContentField()
    client_id = StrictCharField(
        required=False,
        allow_null=True,
        min_length=1,
        max_length=CLIENT_ID_MAX_LENGTH,
        trim_whitespace=False,
        help_text="Idempotency key chosen by the client: repeating a send with the same client_id "
        "in the same chat returns the original message instead of storing a second one.",
    )
    reply_to = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Id of a message of the same chat that this one answers.",
    )


class MessageHistoryQuerySerializer(serializers.Serializer[Any]):
    """GET /api/messages/get query parameters."""

    chat_id = StrictIntegerField(from_query=True, min_value=1, max_value=BIGINT_MAX)
    limit = StrictIntegerField(
        from_query=True,
        required=False,
        default=DEFAULT_PAGE_SIZE,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Page size; values over 100 are treated as 100.",
    )
    offset = StrictIntegerField(
        from_query=True,
        required=False,
        default=0,
        min_value=0,
        max_value=BIGINT_MAX,
        help_text="Messages to skip from the start of the page order (slow on long chats: prefer the seq cursors).",
    )
    before_seq = StrictIntegerField(
        from_query=True,
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Only messages older than this seq (page back from the oldest one you have).",
    )
    after_seq = StrictIntegerField(
        from_query=True,
        required=False,
        min_value=0,
        max_value=BIGINT_MAX,
        help_text="Only messages newer than this seq, and the page is oldest first: how a reconnecting "
        "client catches up in order, without gaps or duplicates.",
    )
