"""Outer middleware: JSON answers for failures that escape the views."""

import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from chatproject.api import RETRY_AFTER_SECONDS, _is_pool_timeout

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """Turn a database outage anywhere (admin included) into 503 JSON, and too-big bodies into 413."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer outages and oversized bodies with the API's error shape."""
        if isinstance(exception, OperationalError | InterfaceError) or _is_pool_timeout(exception):
            logger.warning("database unavailable: %s", exception)
            response = JsonResponse(
                {"error": "service unavailable", "code": "service_unavailable"}, status=503
            )
            response["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"error": "request body too large", "code": "too_large"}, status=413)
        return None
