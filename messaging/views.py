"""Message endpoints, as the seed names them: a thin DRF viewset over messaging.services and selectors."""

from typing import cast

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from chatproject.schema import UNAUTHORIZED, error_response
from messaging import selectors, services
from messaging.payloads import (
    MessageListPayloadSerializer,
    MessagePayloadSerializer,
    message_list_payload,
    message_payload,
)
from messaging.serializers import MessageHistoryQuerySerializer, MessageSendSerializer

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
}
OLDER = {**MESSAGE, "id": 9, "sender_id": 2, "content": "Hi there!", "seq": 1,
         "created_at": "2026-01-05T10:38:00.000000Z"}  # fmt: skip

NOT_MEMBER = error_response(
    "The chat does not exist or the caller is not a member (the same answer for both).",
    "user is not a member of the chat",
    "not_chat_member",
)


class MessageViewSet(viewsets.ViewSet):
    """Sending and reading messages."""

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
                "Malformed JSON or fields, empty or too long content, or a reply_to outside the chat.",
                "message content cannot be empty",
                "message_empty",
            ),
            401: UNAUTHORIZED,
            403: NOT_MEMBER,
        },
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
