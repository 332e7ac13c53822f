"""Nothing refused in silence: every frame over a socket's rates that names a client_id gets its own answer,
and a flood past WS_REFUSED_FRAME_BURST closes the socket with 1008 instead of growing its output."""

import asyncio
import json
from collections import Counter

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from messaging.models import Message
from realtime.tests.live import daphne_server, ws_url
from realtime.tests.test_send_budget_ws import pair_chat
from realtime.tests.wsclient import access_token, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async


@db
def stored_client_ids(chat_id):
    return list(Message.objects.filter(chat_id=chat_id).values_list("client_id", flat=True))


def send_frame(chat_id, client_id):
    return {
        "type": "send_message",
        "payload": {"chat_id": chat_id, "content": client_id, "client_id": client_id},
    }


async def frames_until_quiet(socket, quiet=1.0):
    """Every frame until none arrives for `quiet` seconds."""
    frames = []
    while not await socket.nothing(quiet):
        frames.append(await socket.recv())
    return frames


async def frames_until_closed(ws):
    """Every frame a real server sends until it closes, and the close code it sent."""
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
    except ConnectionClosed:
        return frames, ws.close_code


async def test_every_send_in_a_burst_of_300_gets_exactly_one_answer():
    """At the default rates, 300 sends in a burst: each client_id is answered once, stored or refused."""
    alice, chat = await pair_chat()
    socket, _, _ = await open_socket(alice)
    ids = [f"burst-{n}" for n in range(300)]

    for client_id in ids:
        await socket.send(send_frame(chat.pk, client_id))
    frames = await frames_until_quiet(socket)

    answers = Counter(f["payload"].get("client_id") for f in frames if f["type"] in ("new_message", "error"))
    assert answers == Counter(ids)  # each once, none missing, nothing else
    stored = [f["payload"]["client_id"] for f in frames if f["type"] == "new_message"]
    refused = [f["payload"] for f in frames if f["type"] == "error"]
    assert sorted(stored) == sorted(await stored_client_ids(chat.pk))
    assert stored
    assert refused
    for payload in refused:
        assert payload["code"] == "rate_limited"
        assert payload["retry_after"] > 0
    await socket.close()


async def test_frames_without_a_client_id_share_one_answer_a_second(chat_overrides):
    chat_overrides.WS_FRAME_RATE_PER_SECOND = 1
    chat_overrides.WS_FRAME_BURST = 1
    alice, chat = await pair_chat()
    socket, _, _ = await open_socket(alice)

    for _ in range(5):
        await socket.send({"type": "typing", "payload": {"chat_id": chat.pk}})
    frames = await frames_until_quiet(socket, quiet=0.5)

    assert [(f["type"], f["payload"]["code"]) for f in frames] == [("error", "rate_limited")]
    assert "client_id" not in frames[0]["payload"]
    await socket.close()


async def test_a_client_id_longer_than_a_send_allows_is_not_echoed(chat_overrides):
    chat_overrides.WS_FRAME_RATE_PER_SECOND = 0.01
    chat_overrides.WS_FRAME_BURST = 1
    alice, chat = await pair_chat()
    socket, _, _ = await open_socket(alice)
    await socket.send({"type": "typing", "payload": {"chat_id": chat.pk}})

    await socket.send_raw(json.dumps(send_frame(chat.pk, "x" * 10_000)))
    await socket.send_raw(json.dumps(send_frame(chat.pk, "short")))
    frames = await frames_until_quiet(socket, quiet=0.5)

    assert [f["payload"].get("client_id") for f in frames] == [None, "short"]
    await socket.close()


async def test_a_flood_past_the_refusal_bound_is_answered_then_closed_1008(chat_overrides):
    chat_overrides.WS_FRAME_RATE_PER_SECOND = 0.01
    chat_overrides.WS_FRAME_BURST = 2
    chat_overrides.WS_REFUSED_FRAME_BURST = 5
    alice, chat = await pair_chat()
    socket, _, _ = await open_socket(alice)
    ids = [f"flood-{n}" for n in range(20)]

    for client_id in ids:
        await socket.send(send_frame(chat.pk, client_id))
    answered = [await socket.recv() for _ in range(7)]
    code = await socket.recv_close()

    assert [f["type"] for f in answered] == ["new_message"] * 2 + ["error"] * 5
    assert [f["payload"]["client_id"] for f in answered] == ids[:7]
    assert code == 1008
    # What was never answered was never stored either: the client resends it on its next socket.
    assert sorted(await stored_client_ids(chat.pk)) == ids[:2]


async def test_daphne_sends_the_1008_close_frame_to_a_flooding_client():
    """Through a real Daphne: autobahn lets the application close with 1008 (chatproject.server.close_codes)."""
    alice, chat = await pair_chat()
    token = await db(access_token)(alice)
    env = {"WS_FRAME_RATE_PER_SECOND": "0.01", "WS_FRAME_BURST": "1", "WS_REFUSED_FRAME_BURST": "3"}
    with daphne_server(settings.REDIS_URL, env) as server:
        headers = {"Authorization": f"Bearer {token}"}
        async with connect(ws_url(server.base), additional_headers=headers) as ws:
            for n in range(10):
                await ws.send(json.dumps(send_frame(chat.pk, f"f-{n}")))
            answered, code = await frames_until_closed(ws)

    answers = [f["payload"]["client_id"] for f in answered if f["type"] in ("new_message", "error")]
    assert answers == [f"f-{n}" for n in range(4)]
    assert code == 1008
