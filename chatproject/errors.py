"""DomainError and its kinds: the one map from a failure to an HTTP status."""

from typing import Any


class DomainError(Exception):
    """A business rule failed; subclasses fix the message, code and status."""

    status_code: int = 400
    code: str = "invalid"
    message: str = "invalid request"

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None):
        if message is not None:
            self.message = message
        self.fields = fields
        # Further members of the body (REST) and of the error frame's payload (WebSocket) alike.
        self.extra: dict[str, Any] = {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        """The JSON body REST answers with."""
        body: dict[str, Any] = {"error": self.message, "code": self.code, **self.extra}
        if self.fields:
            body["fields"] = self.fields
        return body


class InvalidError(DomainError):
    """Input that breaks a rule (400)."""

    status_code = 400
    code = "invalid"
    message = "invalid request"


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


class ServiceUnavailableError(DomainError):
    """A dependency is down (503)."""

    status_code = 503
    code = "service_unavailable"
    message = "service unavailable"
