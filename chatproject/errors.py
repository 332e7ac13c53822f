"""DomainError and its kinds, each carrying its own status and headers; `error_body()` builds every error.

This is the one home of error bodies: the DRF handler, the error views, the middleware, Daphne's own
answers (chatproject.server), the OpenAPI examples and the WebSocket error frames all build theirs here.
It is also the one definition of each outage (the database, Redis): the exceptions that mean it and the
answer it gets (`DATABASE_ERRORS`, `REDIS_ERRORS`, `outage_error()`).
"""

from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError


def error_body(message: str, code: str, **extra: Any) -> dict[str, Any]:
    """The one error body: {"error": message, "code": code, ...extra}."""
    return {"error": message, "code": code, **extra}


class DomainError(Exception):
    """A rule failed; subclasses fix the message, code, status and headers (Zulip's JsonableError)."""

    status_code: int = 400
    code: str = "invalid"
    message: str = "invalid request"
    # The words of an error frame on the socket, where the seed words the socket's answer apart from REST's.
    socket_message: str | None = None
    # Seconds a client should wait before trying again, sent as Retry-After; None: no header.
    retry_after: int | None = None

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None):
        if message is not None:
            self.message = message
        self.fields = fields
        # Further members of the body (REST) and of the error frame's payload (WebSocket) alike.
        self.extra: dict[str, Any] = {}
        super().__init__(self.message)

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides its body (Retry-After when a wait is known)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    def as_dict(self) -> dict[str, Any]:
        """The JSON body REST answers with: error_body() plus `extra`, and `fields` when there are any."""
        fields = {"fields": self.fields} if self.fields else {}
        return error_body(self.message, self.code, **self.extra, **fields)


def error_json_response(error: DomainError) -> JsonResponse:
    """`error` as a plain Django response, for answers given outside DRF (error views, middleware)."""
    response = JsonResponse(error.as_dict(), status=error.status_code)
    # Set after the body so Content-Type stays the first header.
    for name, value in error.headers.items():
        response[name] = value
    return response


class InvalidError(DomainError):
    """Input that breaks a rule (400)."""

    status_code = 400
    code = "invalid"
    message = "invalid request"


class InvalidJsonError(InvalidError):
    """A body that is not JSON, or nested deeper than the parser can follow (400, the seed's words)."""

    code = "invalid_json"
    message = "invalid json"


class BadRequestError(InvalidError):
    """A request refused before any view: unreadable body, bad request line or header (400)."""

    code = "bad_request"
    message = "bad request"


class NotAuthenticatedError(DomainError):
    """No or bad credentials (401)."""

    status_code = 401
    code = "not_authenticated"
    message = "authentication required"


class ForbiddenError(DomainError):
    """Authenticated but not allowed (403)."""

    status_code = 403
    code = "forbidden"
    message = "forbidden"


class NotFoundError(DomainError):
    """The thing does not exist, or is not the caller's to see (404)."""

    status_code = 404
    code = "not_found"
    message = "not found"


class MethodNotAllowedError(DomainError):
    """A plain Django view refused the method (405); `allow` lists the methods it takes."""

    status_code = 405
    code = "method_not_allowed"
    message = "method not allowed"

    def __init__(self, *, allow: str | None = None):
        super().__init__()
        self.allow = allow

    @property
    def headers(self) -> dict[str, str]:
        """Allow, when the refusing view named its methods."""
        return {"Allow": self.allow} if self.allow else {}


class ConflictError(DomainError):
    """The write clashes with existing state (409)."""

    status_code = 409
    code = "conflict"
    message = "conflict"


class TooLargeError(DomainError):
    """The payload is over a limit (413)."""

    status_code = 413
    code = "too_large"
    message = "payload too large"


class RequestBodyTooLargeError(TooLargeError):
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE (413); the same words from Django and Daphne."""

    message = "request body too large"


class UnsupportedMediaTypeError(DomainError):
    """The content is of a type the operation does not accept (415)."""

    status_code = 415
    code = "unsupported_media_type"
    message = "unsupported media type"


class RateLimitedError(DomainError):
    """Too many requests (429); `retry_after` seconds, when known, go in the body and Retry-After."""

    status_code = 429
    code = "rate_limited"
    message = "rate limit exceeded"

    def __init__(self, message: str | None = None, *, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        if retry_after is not None:
            self.extra["retry_after"] = retry_after


class InternalError(DomainError):
    """A bug (500); the body names nothing, the log has the details."""

    status_code = 500
    code = "internal_error"
    message = "internal server error"


class ServiceUnavailableError(DomainError):
    """A dependency (the database, Redis) is down (503); clients retry after Retry-After seconds."""

    status_code = 503
    code = "service_unavailable"
    message = "service unavailable"
    # Outages are short (a failover, a restart); a fixed hint keeps clients from hammering meanwhile.
    retry_after = 5
    # What is down, for the log line ("database unavailable: ...").
    dependency = "a dependency"


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database cannot be reached (503 `service_unavailable`; an error frame on a socket)."""

    dependency = "database"


class RedisUnavailableError(ServiceUnavailableError):
    """Redis (the cache, the channel layer) cannot be reached (503 `service_unavailable`)."""

    dependency = "redis"


# What a database call raises when the database cannot be reached, as opposed to a bad query: Django's
# wrapped errors, and psycopg's own OperationalError, raised outside Django's wrapping by the pool
# (psycopg_pool.PoolTimeout) and by a connection that stopped answering (chatproject.db).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
)

# What a call to Redis raises when Redis cannot be reached or does not answer in time: redis-py's errors and
# the socket's own (OSError covers ConnectionError and TimeoutError, asyncio's included). Catch these
# around a call to Redis only: anywhere else an OSError may be a file's.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

# The part of REDIS_ERRORS that names Redis wherever it is raised: what code that sees any exception
# (the DRF handler, the middleware, the 500 view) answers as a Redis outage.
_REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def outage_error(exc: BaseException) -> ServiceUnavailableError | None:
    """The answer to `exc` when it means the database or Redis cannot be reached, else None.

    For code that sees any exception: a bad query or a Redis reply error is a bug (500), not an outage.
    """
    if isinstance(exc, DATABASE_ERRORS):
        return DatabaseUnavailableError()
    if isinstance(exc, _REDIS_UNREACHABLE):
        # A hung Redis (the cache's socket timeouts bound the wait) is an outage to retry, not a bug.
        return RedisUnavailableError()
    return None
