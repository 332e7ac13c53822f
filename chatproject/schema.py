"""OpenAPI helpers shared by every app: the error body and its examples."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error body: {"error", "code"} plus "fields" on validation errors."""

    error = serializers.CharField()
    code = serializers.CharField()
    # DRF's metaclass pops declared fields, so this does not shadow Serializer.fields at runtime.
    fields = serializers.DictField(required=False)  # type: ignore[assignment]


def error_response(description: str, message: str, code: str) -> OpenApiResponse:
    """A documented error response with one example."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"error": message, "code": code}, response_only=True)],
    )


INVALID_JSON = error_response("Malformed JSON or invalid fields.", "invalid json", "invalid_json")
UNAUTHORIZED = error_response(
    "Missing, malformed or expired access token.", "invalid or expired token", "invalid_token"
)
THROTTLED = error_response("Too many requests; see Retry-After.", "rate limit exceeded", "rate_limited")


class RateLimitedSerializer(ErrorSerializer):
    """A 429 body that says when to try again."""

    retry_after = serializers.IntegerField(
        min_value=1, help_text="Seconds; the Retry-After header says the same."
    )


SEND_BUDGET_SPENT = OpenApiResponse(
    RateLimitedSerializer,
    description="The sender's message budget (THROTTLE_SEND, default 120/min: sends and edits over REST and "
    "WebSocket together) is spent; try again after Retry-After seconds. Nothing is stored.",
    examples=[
        OpenApiExample(
            "rate_limited",
            value={"error": "rate limit exceeded", "code": "rate_limited", "retry_after": 12},
            response_only=True,
        )
    ],
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until the request can succeed.",
)
