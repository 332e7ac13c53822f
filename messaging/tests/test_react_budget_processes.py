"""THROTTLE_REACT across real Daphne processes: reactions through either process spend one budget in Redis."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging.models import Reaction
from messaging.services import message_send
from realtime.tests.live import daphne_server, http, private_redis, receive_frame, ws_url
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

BUDGET_4 = {"THROTTLE_REACT": "4/min"}
EMOJI = ["👍", "🎉", "❤️", "🔥", "😀", "🚀", "👀", "✅", "💯", "🙏"]


def test_reactions_on_two_processes_share_one_budget_and_only_the_allowed_are_broadcast():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    message = message_send(chat_id=chat.pk, sender=bob, content="react to me")
    token = access_token(alice)
    bobs_headers = {"Authorization": f"Bearer {access_token(bob)}"}

    with (
        private_redis() as (redis_url, _),
        daphne_server(redis_url, BUDGET_4) as a,
        daphne_server(redis_url, BUDGET_4) as b,
    ):

        async def scenario() -> tuple[list[tuple[int, dict]], list[dict]]:
            async with connect(ws_url(a.base), additional_headers=bobs_headers) as ws:
                await ws.send(
                    json.dumps({"type": "resume", "payload": {"chats": {str(chat.pk): message.seq}}})
                )
                await receive_frame(ws, "resumed")

                async def one(n: int) -> tuple[int, dict]:
                    base = (a, b)[n % 2].base
                    url = f"{base}/api/messages/{message.pk}/reactions"
                    return await asyncio.to_thread(http, "POST", url, {"emoji": EMOJI[n]}, token)

                answers = list(await asyncio.gather(*(one(n) for n in range(len(EMOJI)))))
                heard = []
                try:
                    while True:
                        heard.append(await receive_frame(ws, "reaction_added", timeout=2))
                except TimeoutError:
                    pass
            return answers, heard

        answers, heard = asyncio.run(scenario())

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 4 + [429] * 6
    for status, body in answers:
        if status == 429:
            assert body["code"] == "rate_limited"
            assert body["retry_after"] >= 1
    assert Reaction.objects.filter(message=message).count() == 4
    assert len(heard) == 4
