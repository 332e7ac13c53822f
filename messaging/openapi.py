"""OpenAPI declarations of the messaging endpoints, applied to the views with extend_schema_view."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from chatproject.fields import BIGINT_MAX
from chatproject.schema import (
    REACT_BUDGET_SPENT,
    RETRY_AFTER,
    SEND_BUDGET_SPENT,
    THROTTLED,
    UNAUTHORIZED,
    error_response,
)
from messaging.attachments.uploads import EXTENSIONS
from messaging.payloads import (
    AttachmentPayloadSerializer,
    MessageChangesPayloadSerializer,
    MessageListPayloadSerializer,
    MessagePayloadSerializer,
)
from messaging.serializers import (
    AttachmentUploadSerializer,
    MessageChangesQuerySerializer,
    MessageEditSerializer,
    MessageHistoryQuerySerializer,
    MessageSearchQuerySerializer,
    MessageSendSerializer,
    ReactionAddSerializer,
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

# The operations of messaging.views.MessageViewSet, by view method.
message_schema = extend_schema_view(
    send=extend_schema(
        operation_id="messages_send",
        request=MessageSendSerializer,
        responses={
            200: OpenApiResponse(
                MessagePayloadSerializer,
                description="The stored message; with a repeated client_id, the original one.",
                examples=[OpenApiExample("message", value=MESSAGE, response_only=True)],
            ),
            400: error_response(
                "Malformed JSON or fields, empty or too long content, a reply_to outside the chat, or "
                "attachment_ids that are not your own unsent uploads (invalid_attachment).",
                "message content cannot be empty",
                "message_empty",
            ),
            401: UNAUTHORIZED,
            403: NOT_MEMBER,
            429: SEND_BUDGET_SPENT,
        },
        parameters=[RETRY_AFTER],
        examples=[
            OpenApiExample("send", value={"chat_id": 1, "content": "Hello, world!"}, request_only=True),
            OpenApiExample(
                "send idempotently, as a reply",
                value={
                    "chat_id": 1,
                    "content": "Agreed.",
                    "client_id": "7f1c2d9e-5b7a-4d0e-9a51-0c6f0b3e2a11",
                    "reply_to": 9,
                },
                request_only=True,
            ),
        ],
    ),
    history=extend_schema(
        operation_id="messages_get",
        parameters=[MessageHistoryQuerySerializer],
        responses={
            200: OpenApiResponse(
                MessageListPayloadSerializer,
                description="Newest first; oldest first with after_seq.",
                examples=[
                    OpenApiExample("messages", value={"messages": [MESSAGE, OLDER]}, response_only=True)
                ],
            ),
            400: error_response(
                "Missing or non-integer chat_id, limit < 1, offset < 0, or a negative cursor.",
                "chat_id: This field is required.",
                "invalid",
            ),
            401: UNAUTHORIZED,
            403: NOT_MEMBER,
        },
    ),
    partial_update=extend_schema(
        operation_id="messages_edit",
        parameters=[MESSAGE_ID, RETRY_AFTER],
        request=MessageEditSerializer,
        responses={
            200: OpenApiResponse(
                MessagePayloadSerializer,
                description="The edited message (edited_at set, version bumped). Unchanged text, or a body "
                "without content, changes nothing.",
                examples=[OpenApiExample("edited", value=EDITED, response_only=True)],
            ),
            400: error_response(
                "Malformed JSON, empty or too long content, or a deleted message.",
                "message has been deleted",
                "message_deleted",
            ),
            401: UNAUTHORIZED,
            403: error_response(
                "Not the sender.", "only the sender can edit a message", "not_message_author"
            ),
            404: MESSAGE_NOT_FOUND,
            429: SEND_BUDGET_SPENT,
        },
        examples=[OpenApiExample("edit", value={"content": "Hello, everyone!"}, request_only=True)],
    ),
    destroy=extend_schema(
        operation_id="messages_delete",
        parameters=[MESSAGE_ID],
        request=None,
        responses={
            204: OpenApiResponse(
                description="Deleted: the message stays in history as a tombstone (deleted: true, empty "
                "content). Deleting again answers 204 and broadcasts nothing."
            ),
            401: UNAUTHORIZED,
            403: error_response(
                "Someone else's message, and the caller is neither an owner or admin of the group nor holds "
                "the messaging.delete_message permission (Moderators); is_staff alone does not count.",
                "only the sender, a group owner or admin, or a moderator can delete a message",
                "cannot_delete_message",
            ),
            404: MESSAGE_NOT_FOUND,
        },
    ),
    reactions=extend_schema(
        operation_id="messages_reactions_add",
        parameters=[MESSAGE_ID, RETRY_AFTER],
        request=ReactionAddSerializer,
        responses={
            200: OpenApiResponse(
                MessagePayloadSerializer,
                description="The message with its reaction counts; `me` marks the caller's. Adding an "
                "emoji you already chose changes nothing.",
                examples=[OpenApiExample("reacted", value=REACTED, response_only=True)],
            ),
            400: error_response(
                "Malformed JSON, a bad emoji (empty, over 32 characters, whitespace or control "
                "characters), or a deleted message.",
                "emoji must be 1 to 32 characters without whitespace",
                "invalid_emoji",
            ),
            401: UNAUTHORIZED,
            404: MESSAGE_NOT_FOUND,
            429: REACT_BUDGET_SPENT,
        },
        examples=[OpenApiExample("react", value={"emoji": "👍"}, request_only=True)],
    ),
    remove_reaction=extend_schema(
        operation_id="messages_reactions_remove",
        parameters=[MESSAGE_ID, EMOJI, RETRY_AFTER],
        request=None,
        responses={
            200: OpenApiResponse(
                MessagePayloadSerializer,
                description="The message with its reaction counts. Removing a reaction you do not have "
                "changes nothing.",
                examples=[OpenApiExample("message", value=MESSAGE, response_only=True)],
            ),
            400: error_response(
                "A bad emoji (over 32 characters, whitespace or control characters).",
                "emoji must be 1 to 32 characters without whitespace",
                "invalid_emoji",
            ),
            401: UNAUTHORIZED,
            404: MESSAGE_NOT_FOUND,
            429: REACT_BUDGET_SPENT,
        },
    ),
    changes=extend_schema(
        operation_id="messages_changes",
        parameters=[MessageChangesQuerySerializer],
        responses={
            200: OpenApiResponse(
                MessageChangesPayloadSerializer,
                description="Messages edited, deleted (tombstones) or reacted to after since_version, in "
                "change order, each in its current state; `version` is the cursor for the next call. "
                "Fewer than `limit` messages means you are up to date.",
                examples=[
                    OpenApiExample(
                        "changes", value={"messages": [EDITED, TOMBSTONE], "version": 5}, response_only=True
                    )
                ],
            ),
            400: error_response(
                "Missing or non-integer chat_id or since_version.",
                "since_version: This field is required.",
                "invalid",
            ),
            401: UNAUTHORIZED,
            403: NOT_MEMBER,
        },
    ),
    search=extend_schema(
        operation_id="messages_search",
        parameters=[MessageSearchQuerySerializer],
        responses={
            200: OpenApiResponse(
                MessageListPayloadSerializer,
                description="Matching messages from the caller's chats, newest first (deleted ones never). "
                "Page on with before_id = the last id.",
                examples=[OpenApiExample("found", value={"messages": [MESSAGE]}, response_only=True)],
            ),
            400: error_response(
                "Missing q, q over 200 characters, a bad integer, or a q of fewer than 3 characters "
                "with no letter or digit.",
                "q must contain a letter or digit, or be at least 3 characters long",
                "invalid_search_query",
            ),
            401: UNAUTHORIZED,
            403: NOT_MEMBER,
        },
    ),
)


# The operations of messaging.views.AttachmentUploadView, by view method.
attachment_upload_schema = extend_schema_view(
    post=extend_schema(
        operation_id="attachments_upload",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={
            201: OpenApiResponse(
                AttachmentPayloadSerializer,
                description="Stored. Send it with POST /api/messages/send {attachment_ids: [id]}; uploads no "
                "message carries are deleted after a day.",
                examples=[
                    OpenApiExample("uploaded", value=ATTACHMENT, response_only=True, status_codes=["201"])
                ],
            ),
            400: error_response(
                "No file in the field `file`, an empty file, or a malformed multipart body.",
                "file is empty",
                "attachment_empty",
            ),
            401: UNAUTHORIZED,
            413: error_response(
                "The file is over ATTACHMENT_MAX_BYTES (default 10 MiB): answered as soon as Content-Length "
                "says so (over the limit plus 64 KiB of multipart framing) or a chunked body passes it, "
                "before the rest is read.",
                "file is too large (at most 10485760 bytes)",
                "attachment_too_large",
            ),
            415: error_response(
                "The content is not PNG, JPEG, GIF, WebP, PDF or UTF-8 text (sniffed, whatever the name or "
                "declared type; text that starts like an HTML or XML document is refused too), or the body "
                "is not multipart/form-data.",
                "file type not allowed: PNG, JPEG, GIF, WebP, PDF or UTF-8 text only",
                "unsupported_attachment_type",
            ),
            429: THROTTLED,
        },
    ),
)


# The operations of messaging.views.AttachmentDownloadView, by view method.
attachment_download_schema = extend_schema_view(
    get=extend_schema(
        operation_id="attachments_download",
        parameters=[
            OpenApiParameter(
                "id",
                {"type": "integer", "format": "int64", "minimum": 1, "maximum": BIGINT_MAX},
                OpenApiParameter.PATH,
                description="Attachment id.",
                examples=[OpenApiExample("attachment", value=5)],
            )
        ],
        responses={
            **{
                (200, content_type): OpenApiResponse(
                    OpenApiTypes.BINARY,
                    description="The file, with its sniffed Content-Type; images inline, anything else as a "
                    "download (Content-Disposition: attachment). Never runs in the browser: "
                    "X-Content-Type-Options: nosniff and Content-Security-Policy: sandbox.",
                )
                for content_type in EXTENSIONS
            },
            401: UNAUTHORIZED,
            404: error_response(
                "No such attachment, or the caller may not read it (not a member of the chat it was sent in; "
                "someone else's unsent upload): the same answer for both. An id that is not 1 to 2^63-1 "
                "matches no route: 404 with code not_found.",
                "attachment not found",
                "attachment_not_found",
            ),
        },
    ),
)
