"""schemathesis against the app's own OpenAPI schema, in-process (WSGI), authenticated, every check on.

Covers every operation in /api/schema/ (accounts', chats', messages', realtime's). Sequences are reset
so the seeded rows get the small ids that the schema's examples and schemathesis' boundary values (1)
use: the success paths are exercised, not only the 4xx ones.
"""

import os
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.config import SchemathesisConfig

from accounts.tests.factories import UserFactory
from chats.tests.factories import add_messages, group_chat, private_chat

# Schema-valid requests that a business rule still answers with 400, each stated in the schema's
# 400 description (OpenAPI cannot express these rules as constraints):
BUSINESS_RULE_400 = {
    ("POST", "/api/chats/private"): "user_id is the caller's own id",
    ("PATCH", "/api/chats/{id}"): "the chat is private (only groups have names)",
    ("POST", "/api/chats/{id}/members"): "the chat is private (fixed membership)",
    ("DELETE", "/api/chats/{id}/members/{user_id}"): "the chat is private (fixed membership)",
    ("POST", "/api/chats/{id}/read"): "seq is after the chat's newest message",
    ("POST", "/api/messages/send"): "reply_to is not a message of that chat",
    # accounts: Django's password validators (length, common, numeric, similar to the username).
    ("POST", "/api/register"): "the password is too weak",
    ("POST", "/api/password"): "old_password is not the caller's password, or new_password is too weak",
    # Trimmed like registration's; any member but username is refused (the schema cannot say so).
    ("PATCH", "/api/me"): "the username is blank once trimmed, or another member is present",
    # "Strip, then a letter or digit, or 3+ characters": Unicode letters and Python's whitespace need
    # \p{L} and a Unicode \s, which OpenAPI's ECMA-262 patterns do not portably have.
    ("GET", "/api/messages/search"): "q has no letter or digit and is under 3 characters once trimmed",
    ("GET", "/api/messages/get"): "around_seq is given with offset, before_seq or after_seq",
}
# Schema-valid requests that a business rule answers with 415, stated in the schema's 415 description:
BUSINESS_RULE_415 = {
    # The type is sniffed from the bytes; generated content is random bytes, almost never one of them.
    ("POST", "/api/attachments"): "the content is not PNG, JPEG, GIF, WebP, PDF or UTF-8 text",
}
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

CONFIG: dict[str, Any] = {
    # A fixed seed keeps CI reproducible; set SCHEMATHESIS_SEED to explore other inputs.
    "seed": int(os.environ.get("SCHEMATHESIS_SEED", "20260105")),
    "generation": {
        "max-examples": int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25")),
        # PostgreSQL text cannot hold NUL, so every string field rejects "\x00" with 400 (tested
        # directly in the API tests); OpenAPI 3.0 has no way to say so short of a pattern on every string.
        "allow-x00": False,
    },
    # One filter per entry, on the operation's name ("POST /api/attachments"): include-method and
    # include-path given together are two filters that schemathesis ORs (any POST would match).
    "operations": [
        {
            "include-name": f"{method} {path}",
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [
                        *POSITIVE_STATUSES,
                        *(["400"] if (method, path) in BUSINESS_RULE_400 else []),
                        *(["415"] if (method, path) in BUSINESS_RULE_415 else []),
                    ]
                }
            },
        }
        for method, path in {**BUSINESS_RULE_400, **BUSINESS_RULE_415}
    ],
}


@pytest.fixture
def bearer(django_db_reset_sequences: None) -> str:
    """The caller's token, with the rows the examples name.

    Users 1 (the caller) to 4; private chat 1 of users 1 and 2 with messages 1 to 3; group chat 2
    owned by user 1, with user 3 as admin and user 4 as member.
    """
    me, other, admin, member = UserFactory.create_batch(4)
    add_messages(private_chat(me, other), other, 3)
    group_chat(me, member, admins=(admin,), name="Project Team")
    return f"Bearer {RefreshToken.for_user(me).access_token}"


# Loaded at collection: serving the schema touches no database (schemathesis.pytest.from_fixture,
# the lazy alternative, does not run under pytest 9: it sets Function._nodeid, which pytest 9 dropped).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", WSGIHandler(), config=SchemathesisConfig.from_dict(CONFIG)
)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case: Any, bearer: str) -> None:
    case.call_and_validate(headers={"Authorization": bearer})
