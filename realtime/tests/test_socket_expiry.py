"""Every socket closes (4401) when its credential would expire, unless an `auth` frame renews it.

A ticket socket's credential is the access token that obtained the ticket.
"""

from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.tests.factories import UserFactory
from realtime.models import WsTicket
from realtime.tests.wsclient import access_token, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async

SHORT = timedelta(seconds=2)


def token_for(user, lifetime=None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def exp_of(token: str) -> int:
    return int(AccessToken(token)["exp"])  # type: ignore[arg-type]


def ticket_with(token: str) -> str:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post("/api/ws/ticket")
    assert response.status_code == 201
    return response.json()["ticket"]


def auth_frame(token: str) -> dict:
    return {"type": "auth", "payload": {"token": token}}


def timestamp(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp())


# --- tickets ---------------------------------------------------------------------------------------


async def test_ticket_records_the_expiry_of_the_access_token_that_obtained_it():
    user = await db(UserFactory)()
    token = await db(token_for)(user, SHORT)

    await db(ticket_with)(token)

    stored = await db(lambda: WsTicket.objects.get(user=user).access_expires_at)()
    assert int(stored.timestamp()) == exp_of(token)


async def test_ticket_socket_closes_4401_when_the_access_token_behind_the_ticket_expires():
    user = await db(UserFactory)()
    ticket = await db(ticket_with)(await db(token_for)(user, SHORT))

    socket, accepted, _ = await open_socket(query=f"ticket={ticket}")

    assert accepted
    assert await socket.recv_close(timeout=SHORT.total_seconds() + 3) == 4401


async def test_ticket_socket_renewed_with_auth_outlives_the_original_token():
    user = await db(UserFactory)()
    ticket = await db(ticket_with)(await db(token_for)(user, SHORT))
    socket, _, _ = await open_socket(query=f"ticket={ticket}")
    fresh = await db(token_for)(user)

    await socket.send(auth_frame(fresh))
    answer = await socket.recv()

    assert answer["type"] == "authenticated"
    assert timestamp(answer["payload"]["expires_at"]) == exp_of(fresh)
    assert await socket.nothing(SHORT.total_seconds() + 1.5)  # past the old expiry, still open
    await socket.close()


# --- the auth frame --------------------------------------------------------------------------------


async def test_bearer_socket_renewed_with_auth_stays_open_past_the_first_tokens_expiry():
    user = await db(UserFactory)()
    socket, _, _ = await open_socket(token=await db(token_for)(user, SHORT))

    await socket.send(auth_frame(await db(access_token)(user)))

    assert (await socket.recv())["type"] == "authenticated"
    assert await socket.nothing(SHORT.total_seconds() + 1.5)
    await socket.close()


async def test_auth_can_shorten_the_expiry_to_the_new_tokens():
    user = await db(UserFactory)()
    socket, _, _ = await open_socket(user)

    await socket.send(auth_frame(await db(token_for)(user, SHORT)))

    assert (await socket.recv())["type"] == "authenticated"
    assert await socket.recv_close(timeout=SHORT.total_seconds() + 3) == 4401


@pytest.mark.parametrize("kind", ["other_user", "refresh", "expired", "garbage"])
async def test_auth_with_an_unusable_token_is_an_invalid_token_error_and_the_old_expiry_stands(kind):
    user, other = await db(UserFactory)(), await db(UserFactory)()
    tokens = {
        "other_user": lambda: access_token(other),
        "refresh": lambda: str(RefreshToken.for_user(user)),
        "expired": lambda: token_for(user, timedelta(seconds=-5)),
        "garbage": lambda: "not.a.token",
    }
    bad = await db(tokens[kind])()
    socket, _, _ = await open_socket(token=await db(token_for)(user, SHORT))

    await socket.send(auth_frame(bad))

    assert await socket.recv() == {
        "type": "error",
        "payload": {"message": "invalid or expired token", "code": "invalid_token"},
    }
    assert await socket.recv_close(timeout=SHORT.total_seconds() + 3) == 4401


async def test_auth_without_a_token_is_invalid_payload():
    user = await db(UserFactory)()
    socket, _, _ = await open_socket(user)

    await socket.send_raw('{"type": "auth", "payload": {}}')

    assert await socket.recv() == {
        "type": "error",
        "payload": {"message": "invalid payload", "code": "invalid_payload"},
    }
    await socket.close()
