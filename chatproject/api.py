"""The DRF exception handler: where an error raised in a DRF view becomes an HTTP response."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from chatproject.errors import (
    DomainError,
    ForbiddenError,
    InvalidError,
    InvalidJsonError,
    NotFoundError,
    error_body,
    outage_error,
)

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer DomainError, DRF and database errors with error_body(); None leaves the rest to a 500."""
    error = _as_domain_error(exc)
    if error is not None:
        return Response(error.as_dict(), status=error.status_code, headers=error.headers)
    if isinstance(exc, exceptions.APIException):
        return Response(
            _api_exception_body(exc), status=_api_exception_status(exc), headers=_api_headers(exc)
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    return None


def _as_domain_error(exc: Exception) -> DomainError | None:
    """`exc` as the DomainError it answers as (bad JSON, bad fields, 404, 403, a logged outage), or None."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, exceptions.ParseError) or _raised_by_parser(exc):
        return InvalidJsonError()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        return InvalidError(_first_message(fields), fields=fields)
    if isinstance(exc, exceptions.APIException):
        return None
    if isinstance(exc, Http404):
        return NotFoundError()
    if isinstance(exc, PermissionDenied):
        return ForbiddenError()
    outage = outage_error(exc)
    if outage is not None:
        logger.warning("%s unavailable: %s", outage.dependency, exc)
    return outage


def _api_exception_body(exc: exceptions.APIException) -> dict[str, Any]:
    # DRF's own exceptions keep DRF's status and wording, except where the API has its own words.
    if isinstance(exc, exceptions.Throttled):
        return error_body("rate limit exceeded", "rate_limited")
    if isinstance(exc, exceptions.NotAuthenticated):
        return error_body("authentication required", "not_authenticated")
    if isinstance(exc, exceptions.AuthenticationFailed):
        # accounts.authentication words every token failure (message and code) before it gets here.
        codes = exc.get_codes()
        return error_body(str(exc.detail), codes if isinstance(codes, str) else exc.default_code)
    return error_body(str(exc.detail), exc.default_code)


def _api_exception_status(exc: exceptions.APIException) -> int:
    # DRF turns a 401 into 403 when no authenticator names a WWW-Authenticate; ours always answer 401.
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return 401
    return exc.status_code


def _api_headers(exc: exceptions.APIException) -> dict[str, str]:
    # What DRF's exceptions carry for the answer's headers: `auth_header` (set by the view from its
    # authenticator) and Throttled's `wait`.
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return {"WWW-Authenticate": getattr(exc, "auth_header", None) or "Bearer"}
    if isinstance(exc, exceptions.Throttled):
        seconds = getattr(exc, "wait", None)  # untyped in the stubs
        return {"Retry-After": str(int(seconds) + 1 if seconds is not None else 1)}
    return {}


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
