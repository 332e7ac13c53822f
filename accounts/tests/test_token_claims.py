"""A token signed with the server's key but whose user id cannot be one: 401 over REST, 4401 on the socket."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.tests.factories import UserFactory
from realtime.tests.wsclient import open_socket

# Each is validly signed (str(token) signs with SIMPLE_JWT's SIGNING_KEY); none names a user id.
BAD_USER_IDS = ["abc", 1.5, True, "9" * 5000, 2**64, "-1", "1e3", " 1", None, [1]]


def forged(token_class, user, user_id):
    token = token_class.for_user(user)
    token["user_id"] = user_id
    return str(token)


@pytest.mark.django_db
@pytest.mark.parametrize("user_id", BAD_USER_IDS)
def test_rest_access_token_with_non_integer_user_id_is_401_json(user_id):
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged(AccessToken, user, user_id)}")

    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json() == {"error": "invalid or expired token", "code": "invalid_token"}


@pytest.mark.django_db
# (A 5,000-digit claim makes the refresh token longer than the field accepts: a 400 before this check.)
@pytest.mark.parametrize("user_id", ["abc", 1.5, "9" * 500, 2**64])
def test_refresh_token_with_non_integer_user_id_is_401_json(user_id):
    user = UserFactory()

    response = APIClient().post(
        "/api/refresh", {"refresh_token": forged(RefreshToken, user, user_id)}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


@pytest.mark.django_db
def test_rest_access_token_with_digit_string_user_id_still_works():
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged(AccessToken, user, str(user.pk))}")

    assert client.get("/api/me").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("user_id", ["abc", 1.5, "9" * 5000, 2**64])
async def test_handshake_with_non_integer_user_id_closes_4401(user_id):
    user = await database_sync_to_async(UserFactory)()
    token = await database_sync_to_async(forged)(AccessToken, user, user_id)

    socket, accepted, _ = await open_socket(token=token)

    assert accepted
    assert await socket.recv_close() == 4401
