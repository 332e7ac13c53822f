"""THROTTLE_SEND over sockets: one budget with REST, shared by every socket of a user, edits included."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging.models import Message
from realtime.tests.wsclient import access_token, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async


def set_send_rate(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "send": rate},
    }


@db
def pair_chat():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    return alice, chat


@db
def rest_send(user, chat_id, content):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return client.post("/api/messages/send", {"chat_id": chat_id, "content": content}, format="json")


@db
def stored():
    return sorted(Message.objects.values_list("content", flat=True))


def send_frame(chat_id, content, client_id):
    return {
        "type": "send_message",
        "payload": {"chat_id": chat_id, "content": content, "client_id": client_id},
    }


async def frames_until_quiet(socket):
    frames = []
    while not await socket.nothing(0.5):
        frames.append(await socket.recv())
    return frames


async def answers_to(socket, client_ids):
    """client_id -> the frame answering that send (its new_message or its error), however long it takes."""
    answers = {}
    while len(answers) < len(client_ids):
        frame = await socket.recv(timeout=10)
        client_id = frame["payload"].get("client_id")
        if frame["type"] in ("new_message", "error") and client_id in client_ids:
            answers[client_id] = frame
    return answers


def assert_rate_limited_frame(frame, client_id=None):
    payload = frame["payload"]
    expected = {
        "message": "rate limit exceeded",
        "code": "rate_limited",
        "retry_after": payload["retry_after"],
    }
    if client_id is not None:
        expected["client_id"] = client_id
    assert frame == {"type": "error", "payload": expected}
    assert 1 <= payload["retry_after"] <= 120


async def test_rest_and_socket_sends_spend_one_budget(settings):
    set_send_rate(settings, "4/min")
    alice, chat = await pair_chat()
    socket, _, _ = await open_socket(alice)

    assert (await rest_send(alice, chat.pk, "rest 1")).status_code == 200
    await socket.send(send_frame(chat.pk, "ws 1", "w1"))
    assert (await rest_send(alice, chat.pk, "rest 2")).status_code == 200
    await socket.send(send_frame(chat.pk, "ws 2", "w2"))
    await socket.send(send_frame(chat.pk, "ws 3", "w3"))
    answers = await answers_to(socket, {"w1", "w2", "w3"})
    refused_rest = await rest_send(alice, chat.pk, "rest 3")

    assert [answers[c]["type"] for c in ("w1", "w2")] == ["new_message", "new_message"]
    assert_rate_limited_frame(answers["w3"], "w3")
    assert refused_rest.status_code == 429
    assert await stored() == ["rest 1", "rest 2", "ws 1", "ws 2"]
    await socket.close()


async def test_socket_edits_spend_the_send_budget(settings):
    set_send_rate(settings, "2/min")
    alice, chat = await pair_chat()
    socket, _, _ = await open_socket(alice)
    await socket.send(send_frame(chat.pk, "draft", "d1"))
    message_id = (await socket.recv())["payload"]["id"]

    await socket.send({"type": "edit_message", "payload": {"message_id": message_id, "content": "final"}})
    await socket.send({"type": "edit_message", "payload": {"message_id": message_id, "content": "again"}})
    # The error answers at once; message_updated comes back through the channel layer.
    frames = [await socket.recv(timeout=10), await socket.recv(timeout=10)]
    await frames_until_quiet(socket)

    assert sorted(f["type"] for f in frames) == ["error", "message_updated"]
    assert_rate_limited_frame(next(f for f in frames if f["type"] == "error"))
    assert await stored() == ["final"]
    await socket.close()


async def test_ten_sockets_sending_at_once_never_pass_the_budget(settings):
    # The per-socket limit (20/s) would let ten sockets send 40 here; the per-user budget lets 5.
    set_send_rate(settings, "5/min")
    alice, chat = await pair_chat()
    sockets = [(await open_socket(alice))[0] for _ in range(10)]

    ids = [[f"s{i}-{n}" for n in range(4)] for i in range(10)]

    async def burst(index, socket):
        for client_id in ids[index]:
            await socket.send(send_frame(chat.pk, client_id, client_id))

    await asyncio.gather(*(burst(i, s) for i, s in enumerate(sockets)))
    answers = await asyncio.gather(*(answers_to(s, ids[i]) for i, s in enumerate(sockets)))

    errors = [f for per_socket in answers for f in per_socket.values() if f["type"] == "error"]
    for error in errors:
        assert_rate_limited_frame(error, error["payload"]["client_id"])
    assert len(errors) == 35
    assert len(await stored()) == 5
    # Let the broadcasts of the stored five settle before closing, so no socket is mid-query at teardown.
    await asyncio.gather(*(frames_until_quiet(s) for s in sockets))
    for socket in sockets:
        await socket.close()
