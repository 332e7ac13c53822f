"""Message endpoints, as the seed names them: a thin DRF viewset over messaging.services and selectors."""

import logging
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import authenticated_user
from accounts.throttles import ClientAddressThrottle
from chatproject import converters
from messaging import selectors, services
from messaging.attachments import selectors as attachment_selectors
from messaging.attachments import services as attachment_services
from messaging.attachments.uploads import INLINE_TYPES, UploadLimitHandler
from messaging.errors import AttachmentNotFoundError, InvalidUploadError
from messaging.models import Attachment
from messaging.openapi import attachment_download_schema, attachment_upload_schema, message_schema
from messaging.payloads import (
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


@message_schema
class MessageViewSet(viewsets.ViewSet):
    """Sending and reading messages; editing, deleting, reacting, searching."""

    lookup_value_converter = converters.ID  # 1 ..= 2**63 - 1, else the URL does not match (404)

    @action(detail=False, methods=["post"], url_path="send")
    def send(self, request: Request) -> Response:
        """Send a message to a chat the caller is a member of."""
        data = MessageSendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_send(sender=authenticated_user(request), **data.validated_data)
        return Response(message.send_payload)

    @action(detail=False, methods=["get"], url_path="get")
    def history(self, request: Request) -> Response:
        """A page of a chat's history: newest first by offset (the seed's), or by before_seq / after_seq cursors."""
        query = MessageHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages = selectors.message_history(user=authenticated_user(request), **query.validated_data)
        return Response(message_list_payload(messages))

    # --- edits, deletions, reactions, changes, search ---------------------------------------------
    def partial_update(self, request: Request, pk: int) -> Response:
        """Edit your own message; members' sockets get `message_updated`. Without content, change nothing."""
        data = MessageEditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticated_user(request)
        if "content" in data.validated_data:
            message = services.message_edit(
                message_id=pk, editor=user, content=data.validated_data["content"]
            )
            # The service counted reactions for its broadcast; the answer says which are the caller's.
            selectors.reactions_attach([message], viewer=user)
        else:
            message = selectors.message_get_for_member(message_id=pk, user=user)
        return Response(message_payload(message))

    def destroy(self, request: Request, pk: int) -> Response:
        """Delete a message (sender, group owner or admin, moderator); members' sockets get `message_deleted`."""
        services.message_delete(message_id=pk, actor=authenticated_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="reactions")
    def reactions(self, request: Request, pk: int) -> Response:
        """Add your reaction to a message; members' sockets get `reaction_added`."""
        data = ReactionAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticated_user(request)
        message = services.reaction_add(message_id=pk, user=user, emoji=data.validated_data["emoji"])
        return Response(message_payload(message))

    @action(detail=True, methods=["delete"], url_path="reactions/<str:emoji>")
    def remove_reaction(self, request: Request, pk: int, emoji: str) -> Response:
        """Remove your reaction from a message; members' sockets get `reaction_removed`."""
        user = authenticated_user(request)
        message = services.reaction_remove(message_id=pk, user=user, emoji=emoji)
        return Response(message_payload(message))

    @action(detail=False, methods=["get"], url_path="changes")
    def changes(self, request: Request) -> Response:
        """Changes to a chat's messages since a version: how a client that was away learns of edits and deletions."""
        query = MessageChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since = query.validated_data["since_version"]
        messages = selectors.messages_changed(
            chat_id=query.validated_data["chat_id"],
            user=authenticated_user(request),
            since_version=since,
            limit=query.validated_data["limit"],
        )
        version = messages[-1].version if messages else since
        return Response(message_changes_payload(messages, version=version))

    @action(detail=False, methods=["get"], url_path="search")
    def search(self, request: Request) -> Response:
        """Search the caller's messages: whole words, word prefixes, and substrings of 3+ characters."""
        query = MessageSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        messages = selectors.message_search(user=authenticated_user(request), **query.validated_data)
        return Response(message_list_payload(messages))


# --- attachments -----------------------------------------------------------------------------------


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


@attachment_upload_schema
class AttachmentUploadView(APIView):
    """Upload a file to send with a message."""

    parser_classes = [MultiPartParser]
    throttle_classes = [AttachmentThrottle]

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
            uploader=authenticated_user(request), file=data.validated_data["file"]
        )
        return Response(attachment_payload(attachment), status=status.HTTP_201_CREATED)


@attachment_download_schema
class AttachmentDownloadView(APIView):
    """Read an attachment's bytes."""

    content_negotiation_class = AnyAcceptNegotiation

    def get(self, request: Request, pk: int) -> HttpResponseBase:
        """The file, to members of the chat it was sent in (or its uploader before it is sent)."""
        attachment = attachment_selectors.attachment_get_for_download(
            attachment_id=pk, user=authenticated_user(request)
        )
        return _attachment_response(attachment)


async def _file_chunks(stored: Any) -> AsyncIterator[bytes]:
    """The stored file in chunks, each read in a worker thread.

    An async iterator, so Daphne serves it chunk by chunk (with backpressure: chatproject.server.http);
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
