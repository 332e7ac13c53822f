"""A ban from the admin reaches live sockets: open ones close with 4403, new ones are refused (4401)."""

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.admin_helpers import (
    action,
    client_for,
    make_moderator,
    plain_static_storage,  # noqa: F401 - autouse fixture
)
from accounts.tests.factories import UserFactory
from realtime.tests.wsclient import open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async


@db
def ban_from_admin(user):
    client = client_for(make_moderator())
    return action(client, "/admin/accounts/user/", "deactivate_users", [user.pk])


async def test_ban_closes_every_open_socket_of_the_user_with_4403():
    target = await db(UserFactory)()
    first, accepted_first, _ = await open_socket(target)
    second, accepted_second, _ = await open_socket(target)
    assert accepted_first
    assert accepted_second

    await ban_from_admin(target)

    assert await first.recv_close() == 4403
    assert await second.recv_close() == 4403


async def test_ban_leaves_other_users_sockets_open():
    target, bystander = await db(UserFactory)(), await db(UserFactory)()
    other, _, _ = await open_socket(bystander)

    await ban_from_admin(target)

    assert await other.nothing(0.5)
    await other.close()


async def test_banned_user_cannot_connect_with_an_access_token_issued_before_the_ban():
    target = await db(UserFactory)()
    token = await db(lambda: str(RefreshToken.for_user(target).access_token))()
    await ban_from_admin(target)

    socket, accepted, _ = await open_socket(token=token)

    assert accepted
    assert await socket.recv_close() == 4401
