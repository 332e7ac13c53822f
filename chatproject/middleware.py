"""Outer middleware: JSON answers for failures that escape the views."""

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, UnreadablePostError

from chatproject.errors import (
    BadRequestError,
    MethodNotAllowedError,
    RequestBodyTooLargeError,
    error_json_response,
    outage_error,
)

logger = logging.getLogger(__name__)


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
                return error_json_response(RequestBodyTooLargeError())
            except UnreadablePostError:
                # The client went away or sent a broken body; nothing to answer but 400.
                return error_json_response(BadRequestError())
        response = self.get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            return error_json_response(MethodNotAllowedError(allow=response.get("Allow")))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer outages and oversized bodies with the API's error shape."""
        outage = outage_error(exception)
        if outage is not None:
            logger.warning("%s unavailable: %s", outage.dependency, exception)
            return error_json_response(outage)
        if isinstance(exception, RequestDataTooBig):
            return error_json_response(RequestBodyTooLargeError())
        return None
