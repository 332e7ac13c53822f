"""The attachment upload and download operations."""

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
    THROTTLED,
    UNAUTHORIZED,
    error_response,
)
from messaging.attachments.uploads import EXTENSIONS
from messaging.openapi.examples import (
    ATTACHMENT,
)
from messaging.openapi.payloads import (
    AttachmentPayloadSerializer,
)
from messaging.serializers import (
    AttachmentUploadSerializer,
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
