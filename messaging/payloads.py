"""Message -> JSON-ready dict: the one shape used by REST responses and WebSocket frames.

Each payload function has a documentation serializer beside it, so the OpenAPI schema and the
shape change together (schemathesis checks every response against it).
"""

from typing import Any

from rest_framework import serializers

from chatproject.fields import iso_datetime
from messaging.models import CLIENT_ID_MAX_LENGTH, Message


def message_payload(message: Message) -> dict[str, Any]:
    """The seed's message shape plus seq, edited_at, reply_to and client_id."""
    return {
        "id": message.pk,
        "chat_id": message.chat_id,
        "sender_id": message.sender_id,
        "content": message.content,
        "created_at": iso_datetime(message.created_at),
        "edited_at": iso_datetime(message.edited_at),
        "seq": message.seq,
        "reply_to": message.reply_to_id,
        "client_id": message.client_id,
    }


def message_list_payload(messages: list[Message]) -> dict[str, Any]:
    """GET /api/messages/get: {"messages": [...]} in the order given."""
    return {"messages": [message_payload(message) for message in messages]}


class MessagePayloadSerializer(serializers.Serializer[Any]):
    """A message (documentation of message_payload)."""

    id = serializers.IntegerField()
    chat_id = serializers.IntegerField()
    sender_id = serializers.IntegerField()
    content = serializers.CharField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    seq = serializers.IntegerField(min_value=1, help_text="Gap-free position in the chat: 1, 2, 3, ...")
    reply_to = serializers.IntegerField(allow_null=True, help_text="Id of the message this one answers.")
    client_id = serializers.CharField(allow_null=True, max_length=CLIENT_ID_MAX_LENGTH)


class MessageListPayloadSerializer(serializers.Serializer[Any]):
    """{"messages": [...]} (documentation of message_list_payload)."""

    messages = MessagePayloadSerializer(many=True)
