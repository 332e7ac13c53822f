"""OpenAPI helpers shared by every app: the error body and its examples."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from chatproject.errors import RateLimitedError, RequestBodyTooLargeError, ServiceUnavailableError, error_body


class ErrorCodeField(serializers.CharField):
    """An error body's `code`: documented as the enum of chatproject.error_codes."""


class ErrorCodeFieldExtension(OpenApiSerializerFieldExtension):
    """OpenAPI: ErrorCodeField is a string enum of every code, read when the schema is built."""

    target_class = "chatproject.schema.ErrorCodeField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        """{"type": "string", "enum": [...every code...]}."""
        from chatproject.error_codes import error_codes  # the apps' errors modules import this module

        return {
            "type": "string",
            "enum": list(error_codes()),
            "description": 'Stable and machine-readable; README.md\'s "Error codes" says what each means.',
        }


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error body: {"error", "code"} plus "fields" on validation errors."""

    error = serializers.CharField()
    code = ErrorCodeField()
    # DRF's metaclass pops declared fields, so this does not shadow Serializer.fields at runtime.
    fields = serializers.DictField(required=False)  # type: ignore[assignment]


def error_response(description: str, message: str, code: str) -> OpenApiResponse:
    """A documented error response with one example (for OpenAPI; answers come from chatproject.errors)."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value=error_body(message, code), response_only=True)],
    )


INVALID_JSON = error_response("Malformed JSON or invalid fields.", "invalid json", "invalid_json")
UNAUTHORIZED = error_response(
    "Missing, malformed or expired access token.", "invalid or expired token", "invalid_token"
)
THROTTLED = error_response("Too many requests; see Retry-After.", "rate limit exceeded", "rate_limited")


def add_too_large_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: every operation with a request body can answer 413 too_large.

    The server refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE before any view runs
    (chatproject.server), so no view declares it; an operation that declares its own 413
    (the attachment upload) keeps it.
    """
    too_large = {
        "description": "The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE (default 256 KiB); answered as "
        "soon as Content-Length says so or a chunked body passes it, before the rest is read.",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {
                    "TooLarge": {"value": RequestBodyTooLargeError().as_dict()},
                },
            }
        },
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                responses = operation.setdefault("responses", {})
                responses.setdefault("413", too_large)
                operation["responses"] = dict(sorted(responses.items()))
    return result


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

SERVICE_UNAVAILABLE_RESPONSE: dict[str, Any] = {
    "description": (
        "The database or the cache (Redis) is unreachable or not answering; retry after `Retry-After` "
        "seconds. Answered within DB_POOL_TIMEOUT / DB_QUERY_TIMEOUT_SECONDS + 1 s, never a hang."
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "examples": {"service_unavailable": {"value": ServiceUnavailableError().as_dict()}},
        }
    },
}


def add_service_unavailable(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation may answer 503 during an outage."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _HTTP_METHODS:
                operation.setdefault("responses", {}).setdefault("503", SERVICE_UNAVAILABLE_RESPONSE)
    return result


class RateLimitedSerializer(ErrorSerializer):
    """A 429 body that says when to try again."""

    retry_after = serializers.IntegerField(
        min_value=1, help_text="Seconds; the Retry-After header says the same."
    )


def budget_spent(description: str) -> OpenApiResponse:
    """A 429 of a per-user budget (chatproject.errors.RateLimitedError), with its example body."""
    example = OpenApiExample(
        "rate_limited", value=RateLimitedError(retry_after=12).as_dict(), response_only=True
    )
    return OpenApiResponse(RateLimitedSerializer, description=description, examples=[example])


SEND_BUDGET_SPENT = budget_spent(
    "The sender's message budget (THROTTLE_SEND, default 120/min: sends and edits over REST and "
    "WebSocket together) is spent; try again after Retry-After seconds. Nothing is stored."
)
REACT_BUDGET_SPENT = budget_spent(
    "The caller's reaction budget (THROTTLE_REACT, default 300/min: adds and removes together, "
    "over every transport and process) is spent; try again after Retry-After seconds. Nothing changes."
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until the request can succeed.",
)
