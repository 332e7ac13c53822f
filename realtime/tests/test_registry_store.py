"""The socket registry's books (the per-user cap and who is online), in Redis and in memory, and what GET /api/chats/{id} costs and does when Redis is away."""

import asyncio
import time

import pytest

from accounts.tests.factories import UserFactory
from chats.tests.factories import group_chat
from realtime.presence import selectors
from realtime.registry import store as stores
from realtime.registry.store import Opened
from realtime.tests.live import free_port


@pytest.fixture(autouse=True)
def _short_ttl(settings, chat_overrides):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    chat_overrides.PRESENCE_TTL_SECONDS = 0.3
    chat_overrides.PRESENCE_HEARTBEAT_SECONDS = 0.1


@pytest.fixture(params=["memory", "redis"])
def store(request, settings):
    """Both implementations must keep the same books (Redis: the test database, flushed per test)."""
    if request.param == "memory":
        return stores.MemoryRegistry()
    return stores.RedisRegistry(settings.REDIS_URL)


def run(coroutine):
    return asyncio.run(coroutine)


def test_store_open_is_first_only_for_first_socket(store):
    assert run(store.open(1, "a", 0)) is Opened.CAME_ONLINE
    assert run(store.open(1, "b", 0)) is Opened.OPENED


def test_store_close_is_last_only_for_last_socket(store):
    run(store.open(1, "a", 0))
    run(store.open(1, "b", 0))
    assert run(store.close(1, "a")) is False
    assert run(store.close(1, "b")) is True


def test_store_close_of_unknown_socket_is_not_last(store):
    assert run(store.close(1, "never-added")) is False


def test_store_online_lists_only_users_with_live_sockets(store):
    run(store.open(1, "a", 0))
    run(store.open(2, "b", 0))
    run(store.close(2, "b"))
    assert store.online([1, 2, 3]) == {1}


def test_store_online_drops_user_whose_sockets_expired(store):
    run(store.open(1, "a", 0))
    time.sleep(0.4)
    assert store.online([1]) == set()


def test_store_sweep_returns_users_whose_sockets_all_expired(store):
    run(store.open(1, "a", 0))
    time.sleep(0.4)
    run(store.open(2, "b", 0))
    assert run(store.sweep()) == [1]
    assert run(store.sweep()) == []


def test_store_refresh_keeps_socket_past_its_ttl(store):
    run(store.open(1, "a", 0))
    time.sleep(0.2)
    assert run(store.refresh({"a": 1})) == []
    time.sleep(0.2)
    assert store.online([1]) == {1}
    assert run(store.sweep()) == []


def test_store_refresh_reports_socket_removed_meanwhile(store):
    run(store.open(1, "a", 0))
    run(store.close(1, "a"))
    assert run(store.refresh({"a": 1})) == ["a"]
    assert store.online([1]) == set()


def test_store_open_after_expiry_before_sweep_is_not_first(store):
    # Members were told "online" and not yet "offline": nothing changed for them.
    run(store.open(1, "a", 0))
    time.sleep(0.4)
    assert run(store.open(1, "b", 0)) is Opened.OPENED


def test_store_open_past_the_cap_is_refused_and_records_nothing(store):
    assert run(store.open(1, "a", 2)) is Opened.CAME_ONLINE
    assert run(store.open(1, "b", 2)) is Opened.OPENED
    assert run(store.open(1, "c", 2)) is Opened.REFUSED
    assert run(store.open(1, "a", 2)) is Opened.OPENED  # one already recorded is not counted twice
    assert run(store.close(1, "a")) is False
    assert run(store.open(1, "c", 2)) is Opened.OPENED  # a closed socket freed its place at once
    assert run(store.open(2, "d", 2)) is Opened.CAME_ONLINE  # the cap is per user


def test_store_expired_sockets_do_not_count_against_the_cap(store):
    run(store.open(1, "a", 1))
    time.sleep(0.4)  # the process holding it died: nothing refreshed it
    assert run(store.open(1, "b", 1)) is Opened.OPENED


def test_store_hand_over_frees_the_cap_and_keeps_the_user_online_for_the_grace(store):
    run(store.open(1, "a", 1))
    run(store.open(2, "b", 1))
    run(store.open(2, "c", 2))

    run(store.hand_over({"a": 1, "b": 2}, grace=0.2))

    assert store.online([1, 2]) == {1, 2}
    # Back within the grace: the cap has room, and nobody is told anything.
    assert run(store.open(1, "a2", 1)) is Opened.OPENED
    assert run(store.open(2, "b2", 2)) is Opened.OPENED
    assert run(store.sweep()) == []


def test_store_a_user_handed_over_who_does_not_come_back_is_swept_offline(store):
    run(store.open(1, "a", 1))
    run(store.hand_over({"a": 1}, grace=0.1))
    time.sleep(0.15)
    assert store.online([1]) == set()
    assert run(store.sweep()) == [1]


@pytest.mark.django_db
def test_online_user_ids_shows_everyone_offline_when_redis_is_unreachable(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert selectors.online_user_ids([1, 2]) == set()


@pytest.mark.django_db
def test_get_chat_answers_200_with_everyone_offline_when_redis_is_unreachable(settings, make_client):
    owner, member = UserFactory(), UserFactory()
    chat = group_chat(owner, member)
    run(stores.current().open(member.pk, "a", 0))
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    response = make_client(owner).get(f"/api/chats/{chat.pk}")

    assert response.status_code == 200
    assert [m["online"] for m in response.json()["members"]] == [False, False]


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 30])
def test_get_chat_costs_fixed_queries_and_one_redis_round_trip(
    settings, chat_overrides, make_client, django_assert_num_queries, monkeypatch, count
):
    chat_overrides.PRESENCE_TTL_SECONDS = 30
    owner, *members = UserFactory.create_batch(count)
    chat = group_chat(owner, *members)
    for member in members[::2]:
        run(stores.current().open(member.pk, f"socket-{member.pk}", 0))
    client = make_client(owner)
    client.get(f"/api/chats/{chat.pk}")  # loads the Lua script once
    redis_client = stores.current()._sync
    commands = []
    original = redis_client.execute_command
    monkeypatch.setattr(
        redis_client, "execute_command", lambda *args, **kw: commands.append(args[0]) or original(*args, **kw)
    )

    # The members with their users and the chat; the caller comes from accounts.usercache.
    with django_assert_num_queries(1):
        response = client.get(f"/api/chats/{chat.pk}")

    assert commands == ["EVALSHA"]
    online = {m["id"] for m in response.json()["members"] if m["online"]}
    assert online == {member.pk for member in members[::2]}
