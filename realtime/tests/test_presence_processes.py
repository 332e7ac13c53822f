"""Presence across real Daphne processes sharing one Redis, including a process killed with SIGKILL."""

import asyncio
import time

import pytest
from django.conf import settings
from websockets.asyncio.client import connect

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from realtime.tests.live import daphne_server, http, receive_frame, ws_url
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

TTL, HEARTBEAT = 2.0, 0.5
FAST_PRESENCE = {"PRESENCE_TTL_SECONDS": str(TTL), "PRESENCE_HEARTBEAT_SECONDS": str(HEARTBEAT)}


def members_online(base: str, chat_id: int, token: str) -> dict[int, bool]:
    status, body = http("GET", f"{base}/api/chats/{chat_id}", token=token)
    assert status == 200, body
    return {member["id"]: member["online"] for member in body["members"]}


def presence(user_id: int, online: bool) -> dict:
    return {"type": "presence", "payload": {"user_id": user_id, "online": online}}


@pytest.fixture
def pair():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    return alice, bob, chat


def test_socket_on_one_process_shows_online_on_the_other_and_offline_after_close(pair):
    alice, bob, chat = pair
    token_a, token_b = access_token(alice), access_token(bob)

    with (
        daphne_server(settings.REDIS_URL, FAST_PRESENCE) as a,
        daphne_server(settings.REDIS_URL, FAST_PRESENCE) as b,
    ):

        async def scenario() -> tuple[dict, dict[int, bool], dict, dict[int, bool]]:
            async with connect(
                ws_url(b.base), additional_headers={"Authorization": f"Bearer {token_b}"}
            ) as ws_b:
                async with connect(ws_url(a.base), additional_headers={"Authorization": f"Bearer {token_a}"}):
                    came = await receive_frame(ws_b, "presence")
                    seen_while_open = members_online(b.base, chat.pk, token_b)
                went = await receive_frame(ws_b, "presence")
                return came, seen_while_open, went, members_online(b.base, chat.pk, token_b)

        came, seen_while_open, went, seen_after = asyncio.run(scenario())

    assert came == presence(alice.pk, True)
    assert seen_while_open[alice.pk] is True
    assert went == presence(alice.pk, False)
    assert seen_after[alice.pk] is False


def test_user_of_killed_process_shows_offline_after_ttl_and_members_are_told(pair):
    alice, bob, chat = pair
    token_a, token_b = access_token(alice), access_token(bob)

    with (
        daphne_server(settings.REDIS_URL, FAST_PRESENCE) as doomed,
        daphne_server(settings.REDIS_URL, FAST_PRESENCE) as survivor,
    ):

        async def scenario() -> tuple[dict[int, bool], dict, float, dict[int, bool]]:
            headers_b = {"Authorization": f"Bearer {token_b}"}
            async with connect(ws_url(survivor.base), additional_headers=headers_b) as ws_b:
                ws_a = await connect(
                    ws_url(doomed.base), additional_headers={"Authorization": f"Bearer {token_a}"}
                )
                await receive_frame(ws_b, "presence")
                before = members_online(survivor.base, chat.pk, token_b)
                # No goodbye: the process holding Alice's socket dies at once.
                doomed.process.kill()
                doomed.process.wait()
                killed_at = time.monotonic()
                went = await receive_frame(ws_b, "presence", timeout=TTL + 5)
                took = time.monotonic() - killed_at
                await ws_a.close()
                return before, went, took, members_online(survivor.base, chat.pk, token_b)

        before, went, took, after = asyncio.run(scenario())

    assert before[alice.pk] is True
    assert went == presence(alice.pk, False)
    # At most the TTL after the last refresh, plus one sweep interval (and scheduling slack).
    assert took <= TTL + HEARTBEAT + 1.0, took
    assert after[alice.pk] is False
    print(f"offline announced {took:.2f} s after SIGKILL (TTL {TTL} s, heartbeat {HEARTBEAT} s)")
