"""The caller's own account: read, rename, change the password."""

from rest_framework import status
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.authentication import authenticated_user
from accounts.openapi import me_schema, me_update_schema, password_change_schema
from accounts.payloads import user_payload
from accounts.serializers import MeUpdateSerializer, PasswordChangeSerializer
from accounts.sessions import token_session
from accounts.throttles import PasswordChangeThrottle


@me_schema
@me_update_schema
@api_view(["GET", "PATCH"])
def me(request: Request) -> Response:
    """The caller's own account; PATCH renames it."""
    user = authenticated_user(request)
    if request.method == "PATCH":
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "username" in data.validated_data:
            user = services.user_rename(user=user, username=data.validated_data["username"])
    return Response(user_payload(user))


@password_change_schema
@api_view(["POST"])
@throttle_classes([PasswordChangeThrottle])
def password_change(request: Request) -> Response:
    """Set a new password; other sessions are logged out, the caller's stays."""
    data = PasswordChangeSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    services.user_password_change(
        user=authenticated_user(request),
        session=token_session(request.auth.payload),  # type: ignore[union-attr]
        **data.validated_data,
    )
    return Response(status=status.HTTP_204_NO_CONTENT)
