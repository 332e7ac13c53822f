"""The caller's own account: read, rename, change the password."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from accounts.errors import WrongOldPasswordError
from accounts.openapi.examples import USER_EXAMPLE
from accounts.serializers import MeUpdateSerializer, PasswordChangeSerializer, UserSerializer
from chatproject.errors import error_body
from chatproject.schema import THROTTLED, UNAUTHORIZED, ErrorSerializer, error_response

me_schema = extend_schema(
    methods=["GET"],
    operation_id="me",
    responses={200: OpenApiResponse(UserSerializer, examples=[USER_EXAMPLE]), 401: UNAUTHORIZED},
)

me_update_schema = extend_schema(
    methods=["PATCH"],
    operation_id="me_update",
    description="Change your username (a display name: 1 to 100 characters once trimmed, not unique, the "
    "registration rule). Any other member, `email` included, is 400: an email cannot be changed. An empty "
    "body changes nothing.",
    request=MeUpdateSerializer,
    responses={
        200: OpenApiResponse(UserSerializer, examples=[USER_EXAMPLE]),
        400: error_response(
            "Malformed JSON, a bad username, or a member that cannot be changed.",
            "username: This field may not be blank.",
            "invalid",
        ),
        401: UNAUTHORIZED,
    },
    examples=[OpenApiExample("rename", value={"username": "ivan"}, request_only=True)],
)

password_change_schema = extend_schema(
    operation_id="password_change",
    description="Change your password. Every other login session of yours ends at once: its refresh tokens "
    "are revoked, its access tokens refused (401), its WebSockets closed with 4410. The session whose access "
    "token made the change keeps working (its tokens and sockets). Throttled per user (THROTTLE_PASSWORD).",
    request=PasswordChangeSerializer,
    responses={
        204: OpenApiResponse(description="Changed; other sessions are logged out."),
        400: OpenApiResponse(
            ErrorSerializer,
            description="Malformed JSON or fields, a wrong old password (`wrong_old_password`), or a new "
            "password the validators refuse (`fields.new_password`).",
            examples=[
                OpenApiExample(
                    "wrong_old_password", value=WrongOldPasswordError().as_dict(), response_only=True
                ),
                OpenApiExample(
                    "weak",
                    value=error_body(
                        "new_password: This password is too common.",
                        "invalid",
                        fields={"new_password": ["This password is too common."]},
                    ),
                    response_only=True,
                ),
            ],
        ),
        401: UNAUTHORIZED,
        429: THROTTLED,
    },
    examples=[
        OpenApiExample(
            "change",
            value={"old_password": "correct horse battery", "new_password": "staple gun orbit 42"},
            request_only=True,
        )
    ],
)
