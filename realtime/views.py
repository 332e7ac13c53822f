"""REST side of the realtime app: WebSocket tickets."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.models import User
from accounts.sessions import token_session
from accounts.throttles import ClientAddressThrottle
from chatproject.conf import chat_settings
from chatproject.schema import THROTTLED, UNAUTHORIZED
from realtime.tickets import ws_ticket_issue


class WsTicketThrottle(ClientAddressThrottle):
    """POST /api/ws/ticket."""

    scope = "ws_ticket"


class WsTicketSerializer(serializers.Serializer[Any]):
    """A single-use WebSocket ticket (documentation only)."""

    ticket = serializers.CharField()
    expires_in = serializers.IntegerField()


@extend_schema(
    operation_id="ws_ticket",
    request=None,
    responses={
        201: OpenApiResponse(
            WsTicketSerializer,
            description="Connect with ws://HOST/api/ws?ticket=<ticket> within expires_in seconds; single use. "
            "The socket expires with the access token that asked for the ticket (close 4401) unless "
            "renewed with an `auth` frame.",
            examples=[
                OpenApiExample(
                    "ticket",
                    value={"ticket": "q3Jx...Zk", "expires_in": 30},
                    response_only=True,
                    status_codes=["201"],
                )
            ],
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
    },
)
@api_view(["POST"])
@throttle_classes([WsTicketThrottle])
def ws_ticket(request: Request) -> Response:
    """Issue a single-use, short-lived WebSocket ticket, so browsers need not put a JWT in the URL."""
    user: User = request.user  # type: ignore[assignment]
    # The socket lives as long as the access token that asked for the ticket (then 4401, or `auth`).
    claims = request.auth.payload  # type: ignore[union-attr]
    ticket = ws_ticket_issue(
        user=user, access_expires_at=datetime_from_epoch(claims["exp"]), session=token_session(claims)
    )
    return Response(
        {"ticket": ticket, "expires_in": chat_settings.WS_TICKET_SECONDS}, status=status.HTTP_201_CREATED
    )
