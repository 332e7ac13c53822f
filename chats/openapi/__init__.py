"""OpenAPI declarations of the chats endpoints: the operations (`operations`), applied to the views with
extend_schema_view, and the documentation serializers of chats.payloads (`payloads`)."""

from chats.openapi.operations import ObjectResponsesSchema, chat_schema

__all__ = ["ObjectResponsesSchema", "chat_schema"]
