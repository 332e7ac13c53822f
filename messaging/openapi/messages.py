"""The operations of messaging.views.MessageViewSet, by view method."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from chatproject.schema import (
    REACT_BUDGET_SPENT,
    RETRY_AFTER,
    SEND_BUDGET_SPENT,
    UNAUTHORIZED,
    error_response,
)
from messaging.openapi.examples import (
    EDITED,
    EMOJI,
    MESSAGE,
    MESSAGE_ID,
    MESSAGE_NOT_FOUND,
    NOT_MEMBER,
    OLDER,
    REACTED,
    TOMBSTONE,
)
from messaging.openapi.payloads import (
    MessageChangesPayloadSerializer,
    MessageListPayloadSerializer,
    MessagePayloadSerializer,
)
from messaging.serializers import (
    MessageChangesQuerySerializer,
    MessageEditSerializer,
    MessageHistoryQuerySerializer,
    MessageSearchQuerySerializer,
    MessageSendSerializer,
    ReactionAddSerializer,
)

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
                description="Newest first; oldest first with after_seq or around_seq.",
                examples=[
                    OpenApiExample("messages", value={"messages": [MESSAGE, OLDER]}, response_only=True)
                ],
            ),
            400: error_response(
                "Missing or non-integer chat_id, limit < 1, offset < 0, a negative cursor, or around_seq "
                "given with offset, before_seq or after_seq.",
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
