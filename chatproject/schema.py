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


def add_too_large_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: every operation with a request body can answer 413 too_large.

    The server refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE before any view runs
    (chatproject.transport_limits), so no view declares it; an operation that declares its own 413
    (the attachment upload) keeps it.
    """
    too_large = {
        "description": "The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE (default 256 KiB); answered as "
        "soon as Content-Length says so or a chunked body passes it, before the rest is read.",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {
                    "TooLarge": {"value": {"error": "request body too large", "code": "too_large"}},
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
            "examples": {
                "service_unavailable": {
                    "value": {"error": "service unavailable", "code": "service_unavailable"}
                }
            },
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
