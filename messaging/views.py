"""Message endpoints, as the seed names them: a thin DRF viewset over messaging.services and selectors."""

import logging
from collections.abc import AsyncIterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.throttles import ClientAddressThrottle
from chatproject import converters
from chatproject.fields import BIGINT_MAX
from chatproject.schema import RETRY_AFTER, SEND_BUDGET_SPENT, THROTTLED, UNAUTHORIZED, error_response
from messaging import selectors, services
from messaging.attachments import selectors as attachment_selectors
from messaging.attachments import services as attachment_services
from messaging.attachments.uploads import EXTENSIONS, INLINE_TYPES, UploadLimitHandler
from messaging.errors import AttachmentNotFoundError, InvalidUploadError
from messaging.models import Attachment, Message
from messaging.payloads import (
    AttachmentPayloadSerializer,
    MessageChangesPayloadSerializer,
    MessageListPayloadSerializer,
    MessagePayloadSerializer,
    attachment_payload,
    message_changes_payload,
    message_list_payload,
    message_payload,
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

logger = logging.getLogger(__name__)
# Read and sent at a time by a download.
DOWNLOAD_CHUNK_BYTES = 64 * 1024

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


class MessageViewSet(viewsets.ViewSet):
    """Sending and reading messages; editing, deleting, reacting, searching."""

    lookup_value_converter = converters.ID  # 1 ..= 2**63 - 1, else the URL does not match (404)

    @extend_schema(
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
    )
    @action(detail=False, methods=["post"], url_path="send")
    def send(self, request: Request) -> Response:
        """Send a message to a chat the caller is a member of."""
        data = MessageSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_send(sender=cast(User, request.user), **data.validated_data)
        return Response(message_payload(message))

    @extend_schema(
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
    )
    @action(detail=False, methods=["get"], url_path="get")
    def history(self, request: Request) -> Response:
        """A page of a chat's history: newest first by offset (the seed's), or by before_seq / after_seq cursors."""
        query = MessageHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages = selectors.message_history(user=cast(User, request.user), **query.validated_data)
        return Response(message_list_payload(messages))

    # --- edits, deletions, reactions, changes, search ---------------------------------------------

    @extend_schema(
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
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Edit your own message; members' sockets get `message_updated`. Without content, change nothing."""
        data = MessageEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _user(request)
        if "content" in data.validated_data:
            message = services.message_edit(
                message_id=pk, editor=user, content=data.validated_data["content"]
            )
        else:
            message = selectors.message_get_for_member(message_id=pk, user=user)
        return _message_for(message, user)

    @extend_schema(
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
    )
    def destroy(self, request: Request, pk: int) -> Response:
        """Delete a message (sender, group owner or admin, moderator); members' sockets get `message_deleted`."""
        services.message_delete(message_id=pk, actor=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="messages_reactions_add",
        parameters=[MESSAGE_ID],
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
        },
        examples=[OpenApiExample("react", value={"emoji": "👍"}, request_only=True)],
    )
    @action(detail=True, methods=["post"], url_path="reactions")
    def reactions(self, request: Request, pk: int) -> Response:
        """Add your reaction to a message; members' sockets get `reaction_added`."""
        data = ReactionAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _user(request)
        message = services.reaction_add(message_id=pk, user=user, emoji=data.validated_data["emoji"])
        return _message_for(message, user)

    @extend_schema(
        operation_id="messages_reactions_remove",
        parameters=[MESSAGE_ID, EMOJI],
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
        },
    )
    @action(detail=True, methods=["delete"], url_path="reactions/<str:emoji>")
    def remove_reaction(self, request: Request, pk: int, emoji: str) -> Response:
        """Remove your reaction from a message; members' sockets get `reaction_removed`."""
        user = _user(request)
        message = services.reaction_remove(message_id=pk, user=user, emoji=emoji)
        return _message_for(message, user)

    @extend_schema(
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
    )
    @action(detail=False, methods=["get"], url_path="changes")
    def changes(self, request: Request) -> Response:
        """Changes to a chat's messages since a version: how a client that was away learns of edits and deletions."""
        query = MessageChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since = query.validated_data["since_version"]
        messages = selectors.messages_changed(
            chat_id=query.validated_data["chat_id"],
            user=_user(request),
            since_version=since,
            limit=query.validated_data["limit"],
        )
        version = messages[-1].version if messages else since
        return Response(message_changes_payload(messages, version=version))

    @extend_schema(
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
    )
    @action(detail=False, methods=["get"], url_path="search")
    def search(self, request: Request) -> Response:
        """Search the caller's messages: whole words, word prefixes, and substrings of 3+ characters."""
        query = MessageSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages = selectors.message_search(user=_user(request), **query.validated_data)
        return Response(message_list_payload(messages))


def _user(request: Request) -> User:
    return cast(User, request.user)


def _message_for(message: Message, user: User) -> Response:
    """The message as REST shows it to `user`: reaction counts with `me` (one query)."""
    selectors.reactions_attach([message], viewer=user)
    return Response(message_payload(message))


# --- attachments -----------------------------------------------------------------------------------

ATTACHMENT = {
    "id": 5,
    "filename": "plan.pdf",
    "size": 48213,
    "content_type": "application/pdf",
    "url": "/api/attachments/5/download",
}


class AttachmentThrottle(ClientAddressThrottle):
    """POST /api/attachments, per user (THROTTLE_ATTACHMENTS), the rate read at call time.

    UserRateThrottle would read the rate once, at import, and turn a cache outage into a 500.
    """

    scope = "attachments"

    def get_cache_key(self, request: Request, view: Any) -> str:
        """One counter per user (authentication runs before throttles, so there is one)."""
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}


class AnyAcceptNegotiation(BaseContentNegotiation):
    """A download answers with the file's own type whatever Accept says; errors stay JSON."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        """No body to parse."""
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        """The first renderer (JSON), for error bodies."""
        return (renderers[0], renderers[0].media_type)


class AttachmentUploadView(APIView):
    """Upload a file to send with a message."""

    parser_classes = [MultiPartParser]
    throttle_classes = [AttachmentThrottle]

    @extend_schema(
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
    )
    def post(self, request: Request) -> Response:
        """Store one uploaded file for the caller's next message; its type is sniffed from the bytes."""
        # Before the body is parsed: the limit handler stops an oversized upload as it streams in.
        request._request.upload_handlers = [
            UploadLimitHandler(request._request),
            *request._request.upload_handlers,
        ]
        try:
            data = AttachmentUploadSerializer(data=request.data)
        except ParseError as exc:
            raise InvalidUploadError() from exc
        data.is_valid(raise_exception=True)
        attachment = attachment_services.attachment_upload(
            uploader=_user(request), file=data.validated_data["file"]
        )
        return Response(attachment_payload(attachment), status=status.HTTP_201_CREATED)


class AttachmentDownloadView(APIView):
    """Read an attachment's bytes."""

    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(
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
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        """The file, to members of the chat it was sent in (or its uploader before it is sent)."""
        attachment = attachment_selectors.attachment_get_for_download(attachment_id=pk, user=_user(request))
        return _attachment_response(attachment)


async def _file_chunks(stored: Any) -> AsyncIterator[bytes]:
    """The stored file in chunks, each read in a worker thread.

    An async iterator, so Daphne serves it chunk by chunk (with backpressure: chatproject.transport_limits);
    Django reads a synchronous iterator, such as FileResponse's, whole into memory before serving it
    under ASGI, and a download that is not read would hold the whole file.
    """
    read = sync_to_async(stored.read, thread_sensitive=False)
    try:
        while chunk := await read(DOWNLOAD_CHUNK_BYTES):
            yield chunk
    finally:
        await sync_to_async(stored.close, thread_sensitive=False)()


def _attachment_response(attachment: Attachment) -> StreamingHttpResponse:
    """Stream the stored file with headers that keep a browser from running it."""
    try:
        stored = attachment.file.open("rb")
    except OSError as exc:
        logger.warning("stored file of attachment %s is missing: %s", attachment.pk, exc)
        raise AttachmentNotFoundError() from exc
    content_type = attachment.content_type
    if content_type == "text/plain":
        content_type += "; charset=utf-8"
    response = StreamingHttpResponse(_file_chunks(stored), content_type=content_type)
    disposition = content_disposition_header(
        as_attachment=attachment.content_type not in INLINE_TYPES, filename=attachment.filename
    )
    if disposition:
        response["Content-Disposition"] = disposition
    response["Content-Length"] = str(attachment.size)
    response["X-Content-Type-Options"] = "nosniff"
    # Opened directly, even an HTML-looking text or a crafted PDF gets no script, plugin or same origin.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    response["Cache-Control"] = "private, no-cache"
    return response
