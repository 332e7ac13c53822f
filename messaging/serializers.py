"""Input validation for message endpoints (reusable by WebSocket commands)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from chatproject.conf import chat_settings
from chatproject.fields import BIGINT_MAX, StrictCharField, StrictIntegerField
from messaging.models import CLIENT_ID_MAX_LENGTH, REACTION_EMOJI_MAX_LENGTH
from messaging.selectors import DEFAULT_PAGE_SIZE


class ServiceCheckedTextField(StrictCharField):
    """A string handed to the service as sent: not trimmed, and "" let through, so the service's own
    rule answers it with its own error code."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        """Let "" through to the service."""
        if data == "":
            return ""
        return super().run_validation(data)


# Documentation only (the schema shows the configured limit); messaging.text applies it per call.
@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": chat_settings.MESSAGE_MAX_LENGTH,
        "pattern": r"\S",
        "description": "The text; surrounding whitespace is trimmed. Empty content, or content of only "
        "whitespace and invisible characters (zero-width, bidi controls, lone variation selectors), is "
        f"rejected (message_empty), as is content over {chat_settings.MESSAGE_MAX_LENGTH} characters "
        "(message_too_long).",
    }
)
class MessageContentField(ServiceCheckedTextField):
    """Message text: any string here; messaging.services applies the emptiness and length rules
    ("" gets the seed's "message content cannot be empty")."""


def page_limit_field() -> StrictIntegerField:
    """The `limit` query parameter of every message page: default 50, clamped to 100 by the selectors."""
    return StrictIntegerField(
        from_query=True,
        required=False,
        default=DEFAULT_PAGE_SIZE,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Page size; values over 100 are treated as 100.",
    )


ATTACHMENT_IDS_HELP = (
    "Ids from POST /api/attachments: your own uploads that no message carries yet "
    "(invalid_attachment otherwise; nothing is stored then)."
)


# The schema states the configured count; the service applies it per call (invalid_attachment), so the
# serializer does not check it too and an override of the setting changes one rule, not one of two.
@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "maximum": BIGINT_MAX, "minimum": 1, "format": "int64"},
        "description": ATTACHMENT_IDS_HELP,
        "maxItems": chat_settings.ATTACHMENTS_PER_MESSAGE,
    }
)
class AttachmentIdsField(serializers.ListField):
    """Attachment ids; at most ATTACHMENTS_PER_MESSAGE of them (messaging.attachments.services)."""


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
    # --- attachments ---
    attachment_ids = AttachmentIdsField(
        child=StrictIntegerField(min_value=1, max_value=BIGINT_MAX),
        required=False,
        allow_empty=True,
        help_text=ATTACHMENT_IDS_HELP,
    )


class MessageHistoryQuerySerializer(serializers.Serializer[Any]):
    """GET /api/messages/get query parameters."""

    chat_id = StrictIntegerField(from_query=True, min_value=1, max_value=BIGINT_MAX)
    limit = page_limit_field()
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
    around_seq = StrictIntegerField(
        from_query=True,
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="The page around this seq, oldest first: limit // 2 newer messages and the rest older, "
        "this one included (more on one side when the other runs out), to open a chat at a search "
        "result or a quoted message. Not with offset, before_seq or after_seq.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """around_seq is a page of its own: the other cursors would contradict it."""
        if attrs.get("around_seq") is not None:
            others = [name for name in ("before_seq", "after_seq") if attrs.get(name) is not None]
            if attrs.get("offset"):
                others.append("offset")
            if others:
                raise serializers.ValidationError(
                    {name: ["cannot be combined with around_seq"] for name in others}
                )
        return attrs


# --- edits, reactions, changes, search -----------------------------------------------------------

SEARCH_QUERY_MAX_LENGTH = 200


class MessageEditSerializer(serializers.Serializer[Any]):
    """PATCH /api/messages/{id} body: every field optional, as PATCH goes (an empty body changes nothing)."""

    content = MessageContentField(required=False)


# No whitespace and no control characters (C0, C1), as messaging.services checks. It refuses lone
# surrogates too, left out here: with a surrogate range in the class, schemathesis ignored the pattern.
EMOJI_PATTERN = r"^[^\s\u0000-\u001f\u007f-\u009f]+$"


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": REACTION_EMOJI_MAX_LENGTH,
        "pattern": EMOJI_PATTERN,
        "description": f"One emoji (or short token), 1 to {REACTION_EMOJI_MAX_LENGTH} characters, no "
        "whitespace or control characters, and format characters (U+200D, tags) only inside emoji "
        "sequences: zero-width spaces and bidi controls are refused (invalid_emoji).",
    }
)
class EmojiField(ServiceCheckedTextField):
    """An emoji: any string here; messaging.services applies the length and character rules
    ("" gets invalid_emoji, like any other bad emoji)."""


class ReactionAddSerializer(serializers.Serializer[Any]):
    """POST /api/messages/{id}/reactions body."""

    emoji = EmojiField()


class MessageChangesQuerySerializer(serializers.Serializer[Any]):
    """GET /api/messages/changes query parameters."""

    chat_id = StrictIntegerField(from_query=True, min_value=1, max_value=BIGINT_MAX)
    since_version = StrictIntegerField(
        from_query=True,
        min_value=0,
        max_value=BIGINT_MAX,
        help_text="The highest message `version` you have seen in this chat (0 for none).",
    )
    limit = page_limit_field()


class MessageSearchQuerySerializer(serializers.Serializer[Any]):
    """GET /api/messages/search query parameters."""

    q = StrictCharField(
        min_length=1,
        max_length=SEARCH_QUERY_MAX_LENGTH,
        help_text="Words to find (every word must match, as a whole word or a word prefix) or, from 3 "
        "characters, any substring of the text. Case-insensitive.",
    )
    chat_id = StrictIntegerField(
        from_query=True,
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Search this chat only (you must be a member).",
    )
    limit = page_limit_field()
    before_id = StrictIntegerField(
        from_query=True,
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Only messages older than this id: pass the last id of the previous page.",
    )


# --- attachments -----------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "format": "binary",
        "minLength": 1,
        "description": "PNG, JPEG, GIF, WebP, PDF or UTF-8 text (decided by the content, not the name or "
        f"declared type), 1 to {chat_settings.ATTACHMENT_MAX_BYTES} bytes: empty is attachment_empty, larger "
        "attachment_too_large.",
    }
)
class AttachmentFileField(serializers.FileField):
    """The uploaded file: any file here; messaging.services applies the size and type rules."""

    def __init__(self, **kwargs: Any) -> None:
        # Empty files reach the service, which answers them with attachment_empty.
        super().__init__(allow_empty_file=True, use_url=False, **kwargs)


class AttachmentUploadSerializer(serializers.Serializer[Any]):
    """POST /api/attachments multipart body: one file in the field `file`."""

    file = AttachmentFileField()
