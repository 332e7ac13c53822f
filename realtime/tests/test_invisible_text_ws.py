"""Invisible text over the socket: send_message and edit_message of nothing visible are empty."""

import pytest
from channels.db import database_sync_to_async

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging import services as message_services
from messaging.models import Message
from realtime.tests.wsclient import open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

EMPTY = {"message": "message content cannot be empty", "code": "message_empty"}
INVISIBLE = ["\u200b", "\u2060 \u200d", "\u202e\n", "\ufeff\ufe0f", " \u2066\u2069\u061c "]


@database_sync_to_async
def pair_chat():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    return alice, chat


@database_sync_to_async
def message_rows():
    return list(Message.objects.values_list("content", "edited_at"))


@pytest.mark.parametrize("content", INVISIBLE, ids=repr)
async def test_send_message_of_only_invisible_characters_gets_the_empty_error(content):
    alice, chat = await pair_chat()
    socket, _, _ = await open_socket(alice)

    await socket.send(
        {"type": "send_message", "payload": {"chat_id": chat.pk, "content": content, "client_id": "c1"}}
    )

    assert await socket.recv() == {"type": "error", "payload": {**EMPTY, "client_id": "c1"}}
    assert await message_rows() == []
    await socket.close()


@pytest.mark.parametrize("content", INVISIBLE, ids=repr)
async def test_edit_message_to_only_invisible_characters_gets_the_empty_error(content):
    alice, chat = await pair_chat()
    message = await database_sync_to_async(message_services.message_send)(
        chat_id=chat.pk, sender=alice, content="visible"
    )
    socket, _, _ = await open_socket(alice)

    await socket.send({"type": "edit_message", "payload": {"message_id": message.pk, "content": content}})

    assert await socket.recv() == {"type": "error", "payload": EMPTY}
    assert await message_rows() == [("visible", None)]
    await socket.close()
