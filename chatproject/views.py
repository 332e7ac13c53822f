"""Project-level views: health and the JSON error pages."""

import asyncio
import logging
import sys
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from chatproject.errors import (
    BadRequestError,
    ForbiddenError,
    InternalError,
    NotFoundError,
    error_json_response,
    outage_error,
)

logger = logging.getLogger(__name__)

LAYER_CHECK_TIMEOUT = 2.0


def check_database() -> str:
    """Run a real query; "ok" or "unavailable"."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy"; the reason goes to the log
        logger.warning("health: database check failed: %s", exc)
        return "unavailable"
    return "ok"


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("health.")
    token = uuid.uuid4().hex
    await layer.send(channel, {"type": "health.ping", "token": token})
    message = await layer.receive(channel)
    if message.get("token") != token:
        raise RuntimeError("channel layer returned a different message")


def check_channel_layer() -> str:
    """Send a message to a fresh channel and read it back; "ok" or "unavailable"."""

    async def bounded() -> None:
        await asyncio.wait_for(_layer_roundtrip(), timeout=LAYER_CHECK_TIMEOUT)

    try:
        async_to_sync(bounded)()
    except Exception as exc:  # any failure means "not healthy"
        logger.warning("health: channel layer check failed: %s", exc)
        return "unavailable"
    return "ok"


@extend_schema(
    operation_id="healthz",
    auth=[],
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="Every dependency answered."),
        503: OpenApiResponse(OpenApiTypes.OBJECT, description="A dependency is down; it is named."),
    },
    examples=[
        OpenApiExample(
            "healthy", value={"status": "ok", "database": "ok", "channel_layer": "ok"}, response_only=True
        ),
        OpenApiExample(
            "redis down",
            value={"status": "unavailable", "database": "ok", "channel_layer": "unavailable"},
            response_only=True,
            status_codes=["503"],
        ),
    ],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def healthz(request: Request) -> Response:
    """Touch the database and the channel layer; 200 when both answer, else 503 naming the failure."""
    body = {"database": check_database(), "channel_layer": check_channel_layer()}
    healthy = all(value == "ok" for value in body.values())
    return Response({"status": "ok" if healthy else "unavailable", **body}, status=200 if healthy else 503)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """JSON 404 for unknown URLs."""
    return error_json_response(NotFoundError())


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """JSON 400 for requests Django rejects before a view."""
    return error_json_response(BadRequestError())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """JSON 403."""
    return error_json_response(ForbiddenError())


def server_error(request: HttpRequest) -> JsonResponse:
    """JSON 500 that leaks nothing; 503 when the failure was the database being unreachable.

    Django calls this while handling the exception, so sys.exc_info() names it. That catches outages
    raised outside any view (a middleware touching the session or user), which process_exception
    never sees.
    """
    outage = outage_error(sys.exc_info()[1] or Exception())
    return error_json_response(outage or InternalError())
