"""THROTTLE_REACT over HTTP: one per-user budget for reaction adds and removes, 429 with Retry-After past it."""

from urllib.parse import quote

import pytest

from chats.tests.factories import add_messages, group_chat
from messaging.models import Reaction
from messaging.tests.test_send_budget import assert_rate_limited

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(user, bob):
    return group_chat(user, bob)


@pytest.fixture
def message(bob, chat):
    (message,) = add_messages(chat, bob, 1)
    return message


def react(client, message_id, emoji="👍"):
    return client.post(f"/api/messages/{message_id}/reactions", {"emoji": emoji}, format="json")


def unreact(client, message_id, emoji="👍"):
    return client.delete(f"/api/messages/{message_id}/reactions/{quote(emoji)}")


def test_reaction_changes_past_the_budget_are_429_with_retry_after(chat_overrides, auth_client, message):
    chat_overrides.THROTTLE_REACT = "3/min"
    answers = [
        react(auth_client, message.pk),
        unreact(auth_client, message.pk),
        react(auth_client, message.pk),
    ]
    refused_add = react(auth_client, message.pk, "🎉")
    refused_remove = unreact(auth_client, message.pk)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert_rate_limited(refused_add, 60)
    assert_rate_limited(refused_remove, 60)
    assert list(Reaction.objects.values_list("emoji", flat=True)) == ["👍"]


def test_a_refused_reaction_broadcasts_nothing(chat_overrides, chat_events, make_client, user, bob):
    chat = group_chat(user, bob)
    (message,) = add_messages(chat, bob, 1)
    chat_overrides.THROTTLE_REACT = "1/min"
    client = make_client(user)

    assert react(client, message.pk).status_code == 200
    assert_rate_limited(react(client, message.pk, "🎉"), 60)

    assert [e.event for e in chat_events if e.event.startswith("reaction_")] == ["reaction_added"]


def test_the_budget_is_per_user(chat_overrides, auth_client, make_client, bob, message):
    chat_overrides.THROTTLE_REACT = "1/min"

    assert react(auth_client, message.pk).status_code == 200
    assert react(make_client(bob), message.pk).status_code == 200
    assert_rate_limited(react(auth_client, message.pk, "🎉"), 60)


def test_a_repeat_that_changes_nothing_still_counts(chat_overrides, auth_client, message):
    # It still takes the chat's lock, so it is what the budget guards.
    chat_overrides.THROTTLE_REACT = "2/min"

    assert react(auth_client, message.pk).status_code == 200
    assert react(auth_client, message.pk).status_code == 200
    assert_rate_limited(unreact(auth_client, message.pk), 60)


def test_refused_reactions_spend_nothing(chat_overrides, auth_client, message):
    chat_overrides.THROTTLE_REACT = "1/min"

    assert react(auth_client, message.pk, "not an emoji").status_code == 400
    assert react(auth_client, 10**12).status_code == 404
    assert react(auth_client, message.pk).status_code == 200


def test_sends_and_reactions_keep_separate_budgets(chat_overrides, settings, auth_client, chat, message):
    chat_overrides.THROTTLE_REACT = "1/min"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "send": "1/min"},
    }
    send = auth_client.post("/api/messages/send", {"chat_id": chat.pk, "content": "hi"}, format="json")

    assert send.status_code == 200
    assert react(auth_client, message.pk).status_code == 200


def test_an_empty_rate_means_no_budget(chat_overrides, auth_client, message):
    chat_overrides.THROTTLE_REACT = ""

    answers = [react(auth_client, message.pk, emoji) for emoji in ["👍", "🎉", "❤️", "🔥", "😀"]]

    assert [a.status_code for a in answers] == [200] * 5
