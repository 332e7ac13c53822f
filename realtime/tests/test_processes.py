"""Real Daphne processes: fan-out across processes through one Redis, and a Redis outage."""

import asyncio
import json

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging.models import Message
from realtime.tests.live import daphne, http, private_redis, receive_frame, ws_url
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_daphne_processes_fan_out_both_ways():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    token_a, token_b = access_token(alice), access_token(bob)
    redis_url = settings.REDIS_URL

    async def scenario(base_a: str, base_b: str) -> list[dict]:
        headers_a = {"Authorization": f"Bearer {token_a}"}
        headers_b = {"Authorization": f"Bearer {token_b}"}
        async with (
            connect(ws_url(base_a), additional_headers=headers_a) as ws_a,
            connect(ws_url(base_b), additional_headers=headers_b) as ws_b,
        ):
            await ws_a.send(
                json.dumps({"type": "send_message", "payload": {"chat_id": chat.pk, "content": "A->B"}})
            )
            on_b = await receive_frame(ws_b, "new_message")
            await ws_b.send(
                json.dumps({"type": "send_message", "payload": {"chat_id": chat.pk, "content": "B->A"}})
            )
            on_a = [await receive_frame(ws_a, "new_message"), await receive_frame(ws_a, "new_message")]
            return [on_b, *on_a]

    with daphne(redis_url) as base_a, daphne(redis_url) as base_b:
        on_b, own_echo, on_a = asyncio.run(scenario(base_a, base_b))
    assert on_b["payload"]["content"] == "A->B"
    assert on_b["payload"]["sender_id"] == alice.pk
    assert own_echo["payload"]["content"] == "A->B"
    assert on_a["payload"]["content"] == "B->A"
    assert on_a["payload"]["sender_id"] == bob.pk


def test_redis_outage_closes_sockets_1013_while_rest_sends_still_store():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    token_a = access_token(alice)

    with private_redis() as (redis_url, redis_process), daphne(redis_url) as base:

        async def scenario() -> int | None:
            async with connect(ws_url(base), additional_headers={"Authorization": f"Bearer {token_a}"}) as ws:
                await asyncio.sleep(0.5)  # let the consumer join its groups
                redis_process.kill()
                redis_process.wait()
                try:
                    await asyncio.wait_for(ws.recv(), 15)
                except ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else None
            return None

        close_code = asyncio.run(scenario())
        status, body = http(
            "POST", f"{base}/api/messages/send", {"chat_id": chat.pk, "content": "stored"}, token_a
        )
        health_status, health = http("GET", f"{base}/healthz")

    assert close_code == 1013
    assert status == 200
    assert Message.objects.filter(pk=body["id"], content="stored").exists()
    assert health_status == 503
    assert health == {"status": "unavailable", "database": "ok", "channel_layer": "unavailable"}
