"""Request ids: the client's `X-Request-ID` when it is a safe token, a new one otherwise."""

import contextvars
import re
import uuid
from collections.abc import Iterable
from typing import Any

HEADER = "X-Request-ID"
# What we accept from a client (or a proxy) and copy into logs and the response header: no spaces,
# quotes or control characters that could forge a log line or a header, and no more than 128 of them.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_SCOPE_HEADER = HEADER.lower().encode()
# The request (or socket) being served in this context: chatproject.logs.RequestIdFilter copies it into
# every record. Set per request by RequestLogMiddleware, per socket (its task) by metrics.socket_opened.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id(offered: str | None) -> str:
    """`offered` if it is a safe token, else a new random id (32 hex digits)."""
    if offered is not None and SAFE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def request_id_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The request id for an ASGI request's raw headers (a WebSocket handshake)."""
    for name, value in headers:
        if name == _SCOPE_HEADER:
            return request_id(value.decode("latin-1"))
    return request_id(None)


def request_id_from_scope(scope: dict[str, Any]) -> str:
    """The request id of an ASGI scope, decided once and kept in the scope."""
    found = scope.get("request_id")
    if found is None:
        found = scope["request_id"] = request_id_from_headers(scope.get("headers", ()))
    return str(found)
