"""OpenAPI helpers shared by every app: the error body and its examples."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
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
