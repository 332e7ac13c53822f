"""message_send and the history selectors called directly (as the WebSocket consumer does)."""

import pytest

from chats.errors import NotChatMemberError
from chats.tests.factories import add_messages, group_chat, private_chat
from messaging import selectors, services
from messaging.errors import InvalidClientIdError, MessageEmptyError, MessageTooLongError
from messaging.models import Message
from messaging.payloads import message_payload


def test_message_send_broadcasts_new_message_to_chat_group(chat_events, user, bob):
    chat = private_chat(user, bob)

    message = services.message_send(chat_id=chat.pk, sender=user, content="hi")

    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (f"chat.{chat.pk}", "new_message", message_payload(message))
    ]


def test_message_send_builds_its_payload_once_for_the_broadcast_and_the_answer(
    chat_events, user, bob, monkeypatch
):
    chat = private_chat(user, bob)
    built = []
    monkeypatch.setattr(
        "messaging.services.send.message_payload",
        lambda message: built.append(message) or message_payload(message),
    )

    message = services.message_send(chat_id=chat.pk, sender=user, content="hi")

    assert built == [message]
    assert chat_events[0].payload is message.send_payload
    assert message.send_payload == message_payload(message)


def test_message_send_answers_a_repeat_with_the_originals_payload(chat_events, user, bob):
    chat = private_chat(user, bob)
    first = services.message_send(chat_id=chat.pk, sender=user, content="hi", client_id="c-1")

    again = services.message_send(chat_id=chat.pk, sender=user, content="hi", client_id="c-1")

    assert again.send_payload == first.send_payload


def test_message_send_broadcasts_nothing_when_client_id_repeats(chat_events, user, bob):
    chat = private_chat(user, bob)
    first = services.message_send(chat_id=chat.pk, sender=user, content="hi", client_id="c-1")
    chat_events.clear()

    again = services.message_send(chat_id=chat.pk, sender=user, content="hi", client_id="c-1")

    assert again.pk == first.pk
    assert chat_events == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"content": "  "}, MessageEmptyError),
        ({"content": "x" * 4001}, MessageTooLongError),
        ({"content": "hi", "client_id": ""}, InvalidClientIdError),
        ({"content": "hi", "chat_id": 987654321}, NotChatMemberError),
    ],
)
def test_message_send_broadcasts_and_stores_nothing_when_it_fails(chat_events, user, bob, kwargs, error):
    chat = private_chat(user, bob)

    with pytest.raises(error):
        services.message_send(**{"chat_id": chat.pk, "sender": user, **kwargs})

    assert chat_events == []
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_message_empty_error_has_the_seeds_message():
    error = MessageEmptyError()

    assert (error.status_code, error.code, error.message) == (
        400,
        "message_empty",
        "message content cannot be empty",
    )


@pytest.mark.django_db
def test_messages_after_returns_newer_messages_oldest_first(user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 6)

    messages = selectors.messages_after(chat_id=chat.pk, user=user, after_seq=2, limit=3)

    assert [m.seq for m in messages] == [3, 4, 5]


@pytest.mark.django_db
def test_messages_after_raises_not_member_for_outsider(user, bob, carol):
    chat = group_chat(bob, carol)

    with pytest.raises(NotChatMemberError):
        selectors.messages_after(chat_id=chat.pk, user=user, after_seq=0, limit=10)


@pytest.mark.django_db
def test_message_payload_has_every_field(user, bob):
    chat = private_chat(user, bob)
    first = services.message_send(chat_id=chat.pk, sender=user, content="hi")
    reply = services.message_send(chat_id=chat.pk, sender=bob, content="yo", client_id="k", reply_to=first.pk)

    payload = message_payload(reply)

    assert payload == {
        "id": reply.pk,
        "chat_id": chat.pk,
        "sender_id": bob.pk,
        "content": "yo",
        "created_at": payload["created_at"],
        "edited_at": None,
        "seq": 2,
        "reply_to": first.pk,
        "client_id": "k",
        "deleted": False,
        "version": 0,
        "reactions": [],
        "attachments": [],
    }
    assert payload["created_at"].endswith("Z")
