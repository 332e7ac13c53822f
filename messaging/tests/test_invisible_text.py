"""Invisible text over HTTP: a message of nothing visible is empty; reactions refuse hidden controls."""

from urllib.parse import quote

import pytest

from chats.tests.factories import add_messages, private_chat
from messaging.models import Message, Reaction

pytestmark = pytest.mark.django_db

EMPTY = {"error": "message content cannot be empty", "code": "message_empty"}

# Each is only characters that draw nothing: zero-width space, word joiner, joiner, right-to-left
# override, byte order mark, a lone variation selector, mixed with spaces and newlines.
INVISIBLE = [
    "\u200b",
    "\u2060",
    "\u200d",
    "\u202e",
    "\ufeff",
    "\ufe0f",
    " \u200b \n\u2060\t\u200d ",
    "\u202e\u200b\u3000\u00a0",
    "\u2066\u2069\u061c\u200e",
]


@pytest.fixture
def chat(user, bob):
    return private_chat(user, bob)


@pytest.mark.parametrize("content", INVISIBLE, ids=repr)
def test_send_of_only_invisible_characters_is_empty(auth_client, chat, content):
    response = auth_client.post("/api/messages/send", {"chat_id": chat.pk, "content": content}, format="json")

    assert (response.status_code, response.json()) == (400, EMPTY)
    assert Message.objects.count() == 0


@pytest.mark.parametrize("content", ["\u200bhi\u200b", "👍\ufe0f", "a\u202eb", "e\u0301"], ids=repr)
def test_send_with_visible_characters_among_invisible_ones_is_stored(auth_client, chat, content):
    response = auth_client.post("/api/messages/send", {"chat_id": chat.pk, "content": content}, format="json")

    assert response.status_code == 200
    assert Message.objects.get().content == content


@pytest.mark.parametrize("content", INVISIBLE, ids=repr)
def test_edit_to_only_invisible_characters_is_empty(auth_client, user, chat, content):
    (message,) = add_messages(chat, user, 1)
    before = message.content

    response = auth_client.patch(f"/api/messages/{message.pk}", {"content": content}, format="json")

    assert (response.status_code, response.json()) == (400, EMPTY)
    message.refresh_from_db()
    assert (message.content, message.edited_at) == (before, None)


@pytest.mark.parametrize(
    "emoji",
    [
        "\u200b",
        "👍\u200b",
        "\u202e👍",
        "👍\u2066",
        "\u2069👍",
        "\u061c👍",
        "\ufeff👍",
        "\u200d👍",
        "👍\u200d",
        "\ufe0f",
        "\U000e0067\U000e007f",
    ],
    ids=repr,
)
def test_react_with_format_or_bidi_control_outside_an_emoji_sequence_is_refused(
    auth_client, bob, chat, emoji
):
    (message,) = add_messages(chat, bob, 1)

    response = auth_client.post(f"/api/messages/{message.pk}/reactions", {"emoji": emoji}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_emoji")
    assert Reaction.objects.count() == 0


@pytest.mark.parametrize(
    "emoji",
    [
        "👍",
        "❤️",  # VS16
        "👨\u200d👩\u200d👧",  # family: ZWJ between emoji
        "🏳️\u200d🌈",  # VS16 then ZWJ
        "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England: tag sequence
        "🇫🇷",
        "👍🏽",
    ],
    ids=repr,
)
def test_react_with_an_emoji_sequence_is_stored_and_removable(auth_client, bob, chat, emoji):
    (message,) = add_messages(chat, bob, 1)

    added = auth_client.post(f"/api/messages/{message.pk}/reactions", {"emoji": emoji}, format="json")
    removed = auth_client.delete(f"/api/messages/{message.pk}/reactions/{quote(emoji)}")

    assert added.status_code == 200
    assert added.json()["reactions"] == [{"emoji": emoji, "count": 1, "me": True}]
    assert (removed.status_code, removed.json()["reactions"]) == (200, [])
