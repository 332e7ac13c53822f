"""WS_MAX_SOCKETS_PER_USER in one process: Redis-backed (the default in tests) and in memory (no REDIS_URL)."""

import pytest
from channels.db import database_sync_to_async

from accounts.tests.factories import UserFactory
from chatproject.conf import chat_settings
from realtime.registry import store
from realtime.tests.wsclient import open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(params=["redis", "memory"])
def cap_2(request, settings, chat_overrides):
    """A cap of 2, counted in Redis or, as under `make run` without REDIS_URL, in this process."""
    chat_overrides.WS_MAX_SOCKETS_PER_USER = 2
    if request.param == "memory":
        settings.REDIS_URL = ""
    return request.param


async def test_socket_over_the_cap_is_accepted_then_closed_4429(cap_2):
    user = await database_sync_to_async(UserFactory)()
    first, _, _ = await open_socket(user)
    second, _, _ = await open_socket(user)

    third, accepted, _ = await open_socket(user)

    assert accepted is True
    assert await third.recv_close() == 4429
    # The two within the cap stay open.
    assert await first.nothing()
    assert await second.nothing()
    for socket in (first, second, third):
        await socket.close()


async def test_closing_a_socket_frees_its_slot_at_once(cap_2):
    user = await database_sync_to_async(UserFactory)()
    first, _, _ = await open_socket(user)
    second, _, _ = await open_socket(user)
    await first.close()

    replacement, _, _ = await open_socket(user)
    refused, _, _ = await open_socket(user)

    assert await replacement.nothing()
    assert await refused.recv_close() == 4429
    for socket in (second, replacement, refused):
        await socket.close()


async def test_refused_socket_takes_no_slot(cap_2):
    user = await database_sync_to_async(UserFactory)()
    sockets = [(await open_socket(user))[0] for _ in range(2)]
    for _ in range(3):
        refused, _, _ = await open_socket(user)
        assert await refused.recv_close() == 4429
        await refused.close()
    await sockets[0].close()

    again, _, _ = await open_socket(user)

    assert await again.nothing()
    for socket in (sockets[1], again):
        await socket.close()


async def test_cap_of_zero_means_no_cap(settings, chat_overrides):
    chat_overrides.WS_MAX_SOCKETS_PER_USER = 0
    user = await database_sync_to_async(UserFactory)()

    sockets = [(await open_socket(user))[0] for _ in range(25)]

    assert all([await socket.nothing(0.05) for socket in sockets])
    for socket in sockets:
        await socket.close()


async def test_default_cap_is_20_per_user(settings):
    user, other = await database_sync_to_async(UserFactory)(), await database_sync_to_async(UserFactory)()
    assert chat_settings.WS_MAX_SOCKETS_PER_USER == 20
    sockets = [(await open_socket(user))[0] for _ in range(20)]

    over, _, _ = await open_socket(user)
    others, _, _ = await open_socket(other)

    assert await over.recv_close() == 4429
    assert await others.nothing()
    for socket in [*sockets, over, others]:
        await socket.close()
    assert store.user_key(user.pk).startswith("{chat:sockets}:")
