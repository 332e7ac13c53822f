"""Per-route request body limits, which apps register for their routes: Daphne refuses a body past one
as it arrives (chatproject.server.http). Every other route gets DATA_UPLOAD_MAX_MEMORY_SIZE."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse

from chatproject.errors import RequestBodyTooLargeError

# The largest body a route takes (None: no limit), and the 413 body a larger one gets.
BodyLimit = tuple[int | None, dict[str, Any]]

_routes: dict[str, Callable[[], BodyLimit]] = {}


def register(url_name: str, limit: Callable[[], BodyLimit]) -> None:
    """Requests to the route named `url_name` may send `limit()` bytes, read at each request."""
    _routes[url_name] = limit


def body_limit(target: bytes) -> BodyLimit:
    """The largest body a request to `target` may send, and the 413 body it gets past it.

    A registered route's own limit; every other route DATA_UPLOAD_MAX_MEMORY_SIZE (None: no limit, as
    in Django).
    """
    path = target.split(b"?", 1)[0].decode("latin-1")
    for url_name, limit in _routes.items():
        if path == reverse(url_name):
            return limit()
    # The same error the middleware answers with when Django sees the body first.
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE, RequestBodyTooLargeError().as_dict()
