"""Presence in one process: announcements over the socket, `online` in GET /api/chats/{id}, expiry sweeps."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from chats.tests.factories import group_chat
from realtime import registry
from realtime.registry import store
from realtime.tests.wsclient import access_token, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async


@pytest.fixture(autouse=True)
def _fast_presence(settings, chat_overrides):
    """Short TTL and heartbeat, so expiry tests take about a second."""
    chat_overrides.PRESENCE_TTL_SECONDS = 1.0
    chat_overrides.PRESENCE_HEARTBEAT_SECONDS = 0.2


@db
def make_user():
    return UserFactory()


@db
def private_chat(a, b):
    chat, _ = chat_services.chat_create_private(user=a, other_user_id=b.pk)
    return chat


@db
def members_online(viewer, chat_id) -> dict[int, bool]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(viewer)}")
    response = client.get(f"/api/chats/{chat_id}")
    assert response.status_code == 200
    return {member["id"]: member["online"] for member in response.json()["members"]}


def presence_frame(user, online):
    return {"type": "presence", "payload": {"user_id": user.pk, "online": online}}


async def pair():
    alice, bob = await make_user(), await make_user()
    return alice, bob, await private_chat(alice, bob)


async def test_first_socket_announces_online_to_other_members():
    alice, bob, _ = await pair()
    b, _, _ = await open_socket(bob, presence=True)
    a, _, _ = await open_socket(alice)
    assert await b.recv() == presence_frame(alice, True)
    await a.close()
    await b.close()


async def test_second_socket_of_same_user_announces_nothing():
    alice, bob, _ = await pair()
    b, _, _ = await open_socket(bob, presence=True)
    a1, _, _ = await open_socket(alice)
    assert await b.recv() == presence_frame(alice, True)
    a2, _, _ = await open_socket(alice)
    assert await b.nothing(0.5)
    await a1.close()
    await a2.close()
    await b.close()


async def test_offline_is_announced_only_when_last_socket_closes():
    alice, bob, _ = await pair()
    b, _, _ = await open_socket(bob, presence=True)
    a1, _, _ = await open_socket(alice)
    a2, _, _ = await open_socket(alice)
    assert await b.recv() == presence_frame(alice, True)
    await a1.close()
    assert await b.nothing(0.5)
    await a2.close()
    assert await b.recv() == presence_frame(alice, False)
    await b.close()


async def test_presence_reaches_a_socket_once_when_users_share_several_chats():
    alice, bob, _ = await pair()
    await db(group_chat)(alice, bob, name="also shared")
    b, _, _ = await open_socket(bob, presence=True)
    a, _, _ = await open_socket(alice)
    assert await b.recv() == presence_frame(alice, True)
    assert await b.nothing(0.5)
    await a.close()
    await b.close()


async def test_own_sockets_get_no_presence_about_themselves():
    alice, _, _ = await pair()
    a1, _, _ = await open_socket(alice, presence=True)
    a2, _, _ = await open_socket(alice)
    assert await a1.nothing(0.5)
    await a2.close()
    await a1.close()


async def test_user_sharing_no_chat_gets_no_presence():
    alice, _, _ = await pair()
    carol = await make_user()
    c, _, _ = await open_socket(carol, presence=True)
    a, _, _ = await open_socket(alice)
    await a.close()
    assert await c.nothing(0.5)
    await c.close()


async def test_get_chat_shows_member_online_while_a_socket_is_open():
    alice, bob, chat = await pair()
    a, _, _ = await open_socket(alice)
    assert await members_online(bob, chat.pk) == {alice.pk: True, bob.pk: False}
    await a.close()


async def test_get_chat_shows_member_offline_after_last_socket_closes():
    alice, bob, chat = await pair()
    a, _, _ = await open_socket(alice)
    await a.close()
    assert await members_online(bob, chat.pk) == {alice.pk: False, bob.pk: False}


async def test_socket_of_dead_process_expires_and_sweep_announces_offline():
    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob, presence=True)
    # A socket that no process refreshes: what a killed process leaves behind.
    assert await store.current().open(alice.pk, "ghost-of-a-killed-process", 0)
    assert (await members_online(bob, chat.pk))[alice.pk] is True
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Bob's process sweeps: the heartbeat of the process holding his socket announces Alice offline.
    assert await b.recv(timeout=4) == presence_frame(alice, False)
    assert loop.time() - started < 1.0 + 0.2 + 0.5
    assert (await members_online(bob, chat.pk))[alice.pk] is False
    await b.close()


async def test_socket_swept_while_still_open_is_announced_online_again():
    alice, bob, _ = await pair()
    a, _, _ = await open_socket(alice)
    b, _, _ = await open_socket(bob, presence=True)
    conns = [conn for conn, user_id in registry.local_sockets().items() if user_id == alice.pk]
    # Another process swept Alice's socket (this one stalled past the TTL) and announced her offline.
    assert await store.current().close(alice.pk, conns[0])
    assert await b.recv(timeout=2) == presence_frame(alice, True)
    await a.close()
    await b.close()


async def test_heartbeat_keeps_an_open_socket_online_past_the_ttl():
    alice, bob, chat = await pair()
    a, _, _ = await open_socket(alice)
    await asyncio.sleep(2.5)  # two and a half TTLs
    assert (await members_online(bob, chat.pk))[alice.pk] is True
    await a.close()


async def test_presence_frame_for_removed_chat_is_not_relayed():
    owner, bob = await make_user(), await make_user()
    team = await db(group_chat)(owner, bob, name="team")
    b, _, _ = await open_socket(bob, presence=True)
    o, _, _ = await open_socket(owner)
    assert await b.recv() == presence_frame(owner, True)
    await db(chat_services.member_remove)(chat_id=team.pk, actor=owner, user_id=bob.pk)
    assert (await b.recv())["type"] == "member_removed"
    await o.close()
    assert await b.nothing(0.5)
    await b.close()


async def test_chat_over_the_fanout_limit_gets_no_presence_but_shows_online(settings, chat_overrides):
    chat_overrides.PRESENCE_FANOUT_MAX_MEMBERS = 2
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    room = await db(group_chat)(alice, bob, carol)
    b, _, _ = await open_socket(bob, presence=True)

    a, _, _ = await open_socket(alice)

    assert await b.nothing(0.5)
    assert (await members_online(bob, room.pk))[alice.pk] is True
    await a.close()
    await b.close()
