"""The orjson renderer writes the bytes DRF's JSONRenderer writes (floats in exponent form aside)."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer

from chatproject.renderers import FastJSONRenderer
from chats.tests.factories import add_messages, private_chat

SAMPLES = [
    {"error": "bad", "code": "invalid", "fields": {"content": [ErrorDetail("too long", code="max_length")]}},
    {"when": datetime(2026, 12, 2, 11, 0, 0, 123456, tzinfo=UTC), "day": date(2026, 12, 2)},
    {"naive": datetime(2026, 12, 2, 11, 0), "span": timedelta(seconds=90)},  # noqa: DTZ001
    {"text": 'héllo 🌍 \u2028 line \u2029 para \x00 "quoted" \\ </script>'},
    {1: "int key", 2: [1, 2.5, -3, True, False, None]},
    {"big": 2**63 - 1, "neg": -(2**63), "float": 0.1 + 0.2, "retry_after": 1.25},
    {"decimal": Decimal("1.50"), "uuid": uuid.UUID(int=7), "lazy": gettext_lazy("not found")},
    [],
    {},
    "plain",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_the_same_bytes_as_drfs_renderer(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_floats_in_exponent_form_are_the_same_number():
    # The one difference: orjson writes 1e-7 where json.dumps writes 1e-07 (both valid JSON, same value).
    data = {"tiny": 1e-7, "huge": 1e22}
    assert json.loads(FastJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data)) == data


def test_indented_output_is_still_available():
    rendered = FastJSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert rendered == b'{\n  "a": 1\n}'


def test_none_renders_an_empty_body():
    assert FastJSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_a_history_page_is_the_same_bytes(auth_client, user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 30, text="line \u2028 and émoji 🙂")

    response = auth_client.get("/api/messages/get", {"chat_id": chat.pk})

    assert response.status_code == 200
    assert response.content == JSONRenderer().render(response.data)
