"""Outer middleware: JSON answers for failures that escape the views."""

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError

from chatproject.api import RETRY_AFTER_SECONDS, is_database_unavailable

logger = logging.getLogger(__name__)


def service_unavailable_response() -> JsonResponse:
    """503 {"error": "service unavailable"} with Retry-After."""
    response = JsonResponse({"error": "service unavailable", "code": "service_unavailable"}, status=503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def too_large_response() -> JsonResponse:
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    return JsonResponse({"error": "request body too large", "code": "too_large"}, status=413)


class DatabaseUnavailableMiddleware:
    """Turn a database outage anywhere (admin included) into 503 JSON, and too-big bodies into 413.

    Also gives Django's bodiless 405 (from views outside DRF) the API's error shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not (request.content_type or "").startswith("multipart/"):
            try:
                # DRF's parsers read the raw stream and never apply DATA_UPLOAD_MAX_MEMORY_SIZE;
                # `request.body` does (Content-Length first, then the real size for chunked bodies),
                # reading at most the limit + 1 bytes. Multipart uploads keep Django's own streaming.
                request.body  # noqa: B018
            except RequestDataTooBig:
                return too_large_response()
            except UnreadablePostError:
                # The client went away or sent a broken body; nothing to answer but 400.
                return JsonResponse({"error": "bad request", "code": "bad_request"}, status=400)
        response = self.get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            allow = response.get("Allow")
            response = JsonResponse({"error": "method not allowed", "code": "method_not_allowed"}, status=405)
            if allow:
                response["Allow"] = allow
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer outages and oversized bodies with the API's error shape."""
        if is_database_unavailable(exception):
            logger.warning("database unavailable: %s", exception)
            return service_unavailable_response()
        if isinstance(exception, RequestDataTooBig):
            return too_large_response()
        return None
