"""THROTTLE_SEND across real Daphne processes: REST and sockets on two processes share one budget."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging.models import Message
from realtime.tests.live import daphne_server, http, private_redis, ws_url
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

BUDGET_6 = {"THROTTLE_SEND": "6/min"}


def test_sends_over_rest_and_sockets_on_two_processes_share_one_budget():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    token = access_token(alice)
    headers = {"Authorization": f"Bearer {token}"}

    with (
        private_redis() as (redis_url, _),
        daphne_server(redis_url, BUDGET_6) as a,
        daphne_server(redis_url, BUDGET_6) as b,
    ):

        async def ws_sends(base: str, tag: str) -> list[str]:
            """Send 4 frames at once on one socket; the answer to each: `stored` or the error code."""
            async with connect(ws_url(base), additional_headers=headers) as ws:
                ids = [f"{tag}-{n}" for n in range(4)]
                for client_id in ids:
                    payload = {"chat_id": chat.pk, "content": client_id, "client_id": client_id}
                    await ws.send(json.dumps({"type": "send_message", "payload": payload}))
                answers: dict[str, str] = {}
                while len(answers) < len(ids):
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    payload = frame["payload"]
                    if frame["type"] == "error" and payload.get("client_id") in ids:
                        assert payload["retry_after"] >= 1
                        answers[payload["client_id"]] = payload["code"]
                    elif frame["type"] == "new_message" and payload.get("client_id") in ids:
                        answers[payload["client_id"]] = "stored"
                return list(answers.values())

        async def rest_sends(base: str, tag: str) -> list[str]:
            async def one(n: int) -> str:
                body = {"chat_id": chat.pk, "content": f"{tag}-{n}"}
                status, answer = await asyncio.to_thread(
                    http, "POST", f"{base}/api/messages/send", body, token
                )
                return "stored" if status == 200 else answer["code"]

            return list(await asyncio.gather(*(one(n) for n in range(3))))

        async def scenario() -> list[str]:
            batches = await asyncio.gather(
                ws_sends(a.base, "wa"),
                ws_sends(b.base, "wb"),
                rest_sends(a.base, "ra"),
                rest_sends(b.base, "rb"),
            )
            return [answer for batch in batches for answer in batch]

        answers = asyncio.run(scenario())

    assert sorted(answers) == ["rate_limited"] * 8 + ["stored"] * 6
    assert Message.objects.filter(chat=chat).count() == 6
