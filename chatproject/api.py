"""The DRF exception handler: the only place an error becomes an HTTP response."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from chatproject.errors import DomainError, RateLimitedError

logger = logging.getLogger(__name__)

# Database outages surface as these; answer 503 and let clients retry.
DB_DOWN_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = "5"


def error_response(
    message: str, code: str, status_code: int, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """Build the one error shape: {"error", "code", ...extra}."""
    body: dict[str, Any] = {"error": message, "code": code, **extra}
    return Response(body, status=status_code, headers=headers)


def _flatten_fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {
            key: [str(v) for v in value] if isinstance(value, list) else str(value)
            for key, value in detail.items()
        }
    return {"non_field_errors": [str(v) for v in detail] if isinstance(detail, list) else [str(detail)]}


def _first_message(fields: dict[str, Any]) -> str:
    for key, value in fields.items():
        text = value[0] if isinstance(value, list) and value else value
        if key == "non_field_errors":
            return str(text)
        return f"{key}: {text}"
    return "invalid request"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map DomainError, DRF and database errors to {"error": ..., "code": ...}."""
    if isinstance(exc, DomainError):
        headers = {"Retry-After": RETRY_AFTER_SECONDS} if exc.status_code == 503 else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            headers = {"Retry-After": str(exc.retry_after)}
        return Response(exc.as_dict(), status=exc.status_code, headers=headers)
    if isinstance(exc, exceptions.ParseError) or _raised_by_parser(exc):
        return error_response("invalid json", "invalid_json", status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        return error_response(_first_message(fields), "invalid", 400, fields=fields)
    if isinstance(exc, exceptions.Throttled):
        seconds = getattr(exc, "wait", None)
        wait = int(seconds) + 1 if seconds is not None else 1
        return error_response("rate limit exceeded", "rate_limited", 429, headers={"Retry-After": str(wait)})
    if isinstance(exc, exceptions.NotAuthenticated):
        return error_response(
            "authentication required", "not_authenticated", 401, headers=_www_authenticate(exc)
        )
    if isinstance(exc, exceptions.AuthenticationFailed):
        message, code = _auth_failure(exc)
        return error_response(message, code, 401, headers=_www_authenticate(exc))
    if isinstance(exc, exceptions.APIException):
        return error_response(str(exc.detail), exc.default_code, exc.status_code)
    if isinstance(exc, Http404):
        return error_response("not found", "not_found", 404)
    if isinstance(exc, PermissionDenied):
        return error_response("forbidden", "forbidden", 403)
    if is_database_unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        return error_response(
            "service unavailable", "service_unavailable", 503, headers={"Retry-After": RETRY_AFTER_SECONDS}
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    return None


def _raised_by_parser(exc: Exception) -> bool:
    # DRF's JSONParser turns only ValueError into ParseError; JSON nested deeper than the
    # interpreter's recursion limit raises RecursionError from inside it. Bad input, not a crash.
    if isinstance(exc, exceptions.APIException):
        return False
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_globals.get("__name__") == "rest_framework.parsers":
            return True
        frame = frame.tb_next
    return False


def _auth_failure(exc: exceptions.AuthenticationFailed) -> tuple[str, str]:
    # simplejwt's exceptions put {"detail": ..., "code": ...} in `detail` (get_codes() then reports
    # only the generic code); ours carry a plain message with its own code.
    detail = exc.detail
    if isinstance(detail, dict):
        return str(detail.get("detail", "invalid or expired token")), str(detail.get("code", "invalid_token"))
    codes = exc.get_codes()
    return str(detail), codes if isinstance(codes, str) else exc.default_code


def _www_authenticate(exc: exceptions.APIException) -> dict[str, str]:
    # DRF stores the authenticator's header on the exception before calling the handler.
    return {"WWW-Authenticate": getattr(exc, "auth_header", None) or "Bearer"}


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database or the cache cannot be reached (as opposed to a bad query).

    The cache (Redis) counts too: its socket timeouts bound how long a hung Redis holds a request, and
    what they raise is an outage to retry, not a server error. (The throttles already answer 503 for
    their own cache reads; this covers any other cache use.)
    """
    return isinstance(exc, DB_DOWN_ERRORS) or _is_psycopg_operational(exc) or _is_redis_unreachable(exc)


def _is_redis_unreachable(exc: BaseException) -> bool:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def _is_psycopg_operational(exc: BaseException) -> bool:
    # Raised outside Django's error wrapping (the pool's own calls): psycopg_pool.PoolTimeout and a
    # connection that stopped answering (chatproject.db) are psycopg OperationalErrors, not Django's.
    # Imported lazily: SQLite has no psycopg.
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.OperationalError)
