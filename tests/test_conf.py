"""chatproject.conf: the chat's settings, read at call time from CHAT, with a top-level override honoured."""

import os
import subprocess
import sys

import pytest
from django.test import override_settings

from chatproject.conf import DEFAULTS, chat_settings


def test_defaults_apply_without_configuration():
    assert DEFAULTS["MESSAGE_MAX_LENGTH"] == chat_settings.MESSAGE_MAX_LENGTH


def test_chat_namespace_overrides_are_read_at_once():
    with override_settings(CHAT={"MESSAGE_MAX_LENGTH": 10}):
        assert chat_settings.MESSAGE_MAX_LENGTH == 10
    assert DEFAULTS["MESSAGE_MAX_LENGTH"] == chat_settings.MESSAGE_MAX_LENGTH


def test_a_top_level_override_of_the_same_name_still_applies():
    with override_settings(CHAT={"WS_REPLAY_LIMIT": 7}, WS_REPLAY_LIMIT=3):
        assert chat_settings.WS_REPLAY_LIMIT == 3
    assert DEFAULTS["WS_REPLAY_LIMIT"] == chat_settings.WS_REPLAY_LIMIT


def test_unknown_names_are_refused():
    with pytest.raises(AttributeError):
        _ = chat_settings.NOT_A_SETTING
    with override_settings(CHAT={"MESAGE_MAX_LENGTH": 10}), pytest.raises(Exception, match="Unknown CHAT"):
        _ = chat_settings.MESSAGE_MAX_LENGTH


@pytest.mark.django_db
def test_a_top_level_override_reaches_the_service_and_the_api(auth_client, user, bob):
    from chats.tests.factories import private_chat

    chat = private_chat(user, bob)
    with override_settings(MESSAGE_MAX_LENGTH=5):
        response = auth_client.post(
            "/api/messages/send", {"chat_id": chat.pk, "content": "x" * 6}, format="json"
        )
    assert (response.status_code, response.json()["code"]) == (400, "message_too_long")


@pytest.mark.parametrize(
    ("value", "loads"), [("lots", False), ("0/min", False), ("300/min", True), ("", True)]
)
def test_throttle_react_is_checked_when_the_settings_load(value, loads):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatproject.settings", "THROTTLE_REACT": value}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode == 0) is loads, result.stderr
    if not loads:
        assert "THROTTLE_REACT must look like 300/min" in result.stderr
