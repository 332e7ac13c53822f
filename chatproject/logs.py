"""Logs: LOG_FORMAT (text or one JSON object per line), request ids, and the access log of every request.

With LOG_FORMAT=json every record is one line of JSON (python-json-logger), a traceback included as
one string field; the access log is `RequestLogMiddleware`'s (chatproject.serve turns Daphne's off):
one record per request with its request id, user, method, path, status and duration. WebSocket
sockets log their open and close (code, reason) through chatproject.metrics.
"""

import logging
import logging.config
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter

from chatproject import metrics
from chatproject.request_id import HEADER, current_request_id, request_id

access_log = logging.getLogger("chat.access")

JSON_FIELDS = "%(levelname)s %(name)s %(message)s"


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time, level, logger, message, every `extra`, `exc_info` as one string."""
    return JsonFormatter(
        JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"}, timestamp="time"
    )


def configure(config: dict[str, Any]) -> None:
    """LOGGING_CONFIG: apply LOGGING, and send Python's warnings through it (one JSON line each, too)."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


class RequestIdFilter(logging.Filter):
    """Give every record the id of the request being answered, if any (an error's traceback included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


def answered_before_the_app(request: Any, status: int) -> str:
    """Log the access record of a request Daphne answered itself (a Twisted request); its request id."""
    offered = request.requestHeaders.getRawHeaders(b"x-request-id")
    rid = request_id(offered[0].decode("latin-1") if offered else None)
    # Refused as its headers arrive, a request has only placeholders ("(no uri yet)"); its channel knows.
    channel = getattr(request, "channel", None)
    method, target = request.method, request.uri
    if target.startswith(b"("):
        method, target = getattr(channel, "_command", method), getattr(channel, "_path", b"")
    method, path = method.decode("latin-1"), target.split(b"?", 1)[0].decode("latin-1")
    access_log.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "event": "request",
            "request_id": rid,
            "method": method,
            "path": path,
            "status": status,
            "user_id": None,
            "client": _twisted_client(request),
        },
    )
    return rid


def _twisted_client(request: Any) -> str | None:
    """The client's address: Daphne's (after --proxy-headers) once it has one, else the peer's."""
    daphne_address = getattr(request, "client_addr", None)
    if daphne_address:
        return str(daphne_address[0])
    return getattr(request.getClientAddress(), "host", None)


def _user_id(request: HttpRequest) -> int | None:
    """The user a view authenticated (DRF sets request.user), without loading a session user nobody read."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        return None
    return getattr(user, "pk", None)


class RequestLogMiddleware:
    """Outermost: a request id for every request (echoed in `X-Request-ID`), one access record each.

    The id is the client's `X-Request-ID` when it is a safe token (chatproject.request_id), else new.
    A 429 also counts as a throttled request (chatproject.metrics).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        rid = request_id(request.headers.get(HEADER))
        request.request_id = rid  # type: ignore[attr-defined]
        token = current_request_id.set(rid)
        try:
            response = self.get_response(request)
            response[HEADER] = rid
            status = response.status_code
            if status == 429:
                metrics.throttled("http")
            if access_log.isEnabledFor(logging.INFO):
                duration_ms = round((time.monotonic() - started) * 1000, 1)
                access_log.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    status,
                    extra={
                        "event": "request",
                        "method": request.method,
                        "path": request.path,
                        "status": status,
                        "duration_ms": duration_ms,
                        "user_id": _user_id(request),
                        "client": request.META.get("REMOTE_ADDR"),
                    },
                )
            return response
        finally:
            current_request_id.reset(token)
