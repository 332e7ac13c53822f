"""Example messages, attachments and the parameters the messaging operations share."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
)

from chatproject.fields import BIGINT_MAX
from chatproject.schema import (
    error_response,
)

MESSAGE = {
    "id": 10,
    "chat_id": 1,
    "sender_id": 1,
    "content": "Hello, world!",
    "created_at": "2026-01-05T10:40:00.000000Z",
    "edited_at": None,
    "seq": 2,
    "reply_to": None,
    "client_id": None,
    "deleted": False,
    "version": 0,
    "reactions": [],
    "attachments": [],
}

OLDER = {**MESSAGE, "id": 9, "sender_id": 2, "content": "Hi there!", "seq": 1,
         "created_at": "2026-01-05T10:38:00.000000Z"}  # fmt: skip

NOT_MEMBER = error_response(
    "The chat does not exist or the caller is not a member (the same answer for both).",
    "user is not a member of the chat",
    "not_chat_member",
)

# --- edits, deletions, reactions, changes, search ---
EDITED = {**MESSAGE, "content": "Hello, everyone!", "edited_at": "2026-01-05T10:41:00.000000Z", "version": 4}

TOMBSTONE = {**OLDER, "content": "", "deleted": True, "version": 5}

REACTED = {**MESSAGE, "version": 6, "reactions": [{"emoji": "👍", "count": 2, "me": True}]}

MESSAGE_ID = OpenApiParameter(
    "id",
    {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX},
    OpenApiParameter.PATH,
    description="Message id.",
    examples=[OpenApiExample("message", value=10)],
)

EMOJI = OpenApiParameter(
    "emoji",
    # EMOJI_PATTERN, and no "/": it is one path segment.
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 32,
        "pattern": r"^[^/\s\u0000-\u001f\u007f-\u009f]+$",
    },
    OpenApiParameter.PATH,
    description="The emoji to remove, URL-encoded.",
    examples=[OpenApiExample("thumbs up", value="👍")],
)

MESSAGE_NOT_FOUND = error_response(
    "No such message, or it is in a chat the caller is not a member of (the same answer for both). An id "
    "that is not 1 to 2^63-1 in decimal digits matches no route: 404 with code not_found.",
    "message not found",
    "message_not_found",
)

ATTACHMENT = {
    "id": 5,
    "filename": "plan.pdf",
    "size": 48213,
    "content_type": "application/pdf",
    "url": "/api/attachments/5/download",
}
