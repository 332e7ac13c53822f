"""OpenAPI declarations of the messaging endpoints, applied to the views with extend_schema_view: one
module per sub-domain (`messages`, `attachments`), their shared examples in `examples`, and the
documentation serializers of messaging.payloads in `payloads`."""

from messaging.openapi.attachments import attachment_download_schema, attachment_upload_schema
from messaging.openapi.messages import message_schema

__all__ = ["attachment_download_schema", "attachment_upload_schema", "message_schema"]
