"""POST /api/password: validators, throttle, and the end of every other login session (REST and sockets)."""

import asyncio
import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

import realtime.handshake.auth
from accounts import services
from accounts.errors import InvalidAccessTokenError
from accounts.models import User
from accounts.sessions import token_session
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.test_api import lower_rate
from realtime.tests.wsclient import open_socket
from realtime.tickets import ws_ticket_consume

NEW_PASSWORD = "staple gun orbit 42"

db = database_sync_to_async


def login(user: User, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    """A new login session: {access_token, refresh_token}."""
    response = APIClient().post("/api/login", {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def client_for(tokens: dict[str, str]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client


def change(tokens: dict[str, str], old: str = DEFAULT_PASSWORD, new: str = NEW_PASSWORD) -> Any:
    return client_for(tokens).post("/api/password", {"old_password": old, "new_password": new}, format="json")


def refresh(refresh_token: str) -> Any:
    return APIClient().post("/api/refresh", {"refresh_token": refresh_token}, format="json")


@pytest.mark.django_db
class TestRest:
    def test_change_returns_204_and_the_new_password_logs_in(self, user):
        response = change(login(user))

        assert response.status_code == 204
        assert response.content == b""
        assert login(user, NEW_PASSWORD)["access_token"]

    def test_old_password_no_longer_logs_in(self, user):
        change(login(user))

        response = APIClient().post(
            "/api/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
        )

        assert response.status_code == 401
        assert response.json()["code"] == "invalid_password"

    def test_wrong_old_password_is_400_and_changes_nothing(self, user):
        tokens = login(user)

        response = change(tokens, old="not the password at all")

        assert response.status_code == 400
        assert response.json() == {
            "error": "old password is incorrect",
            "code": "wrong_old_password",
            "fields": {"old_password": ["old password is incorrect"]},
        }
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)
        assert refresh(tokens["refresh_token"]).status_code == 200

    @pytest.mark.parametrize(
        ("new", "words"),
        [
            pytest.param("password123", "too common", id="common"),
            pytest.param("83749201", "entirely numeric", id="numeric"),
            pytest.param("short", "at least 8", id="short"),
        ],
    )
    def test_new_password_the_validators_refuse_is_400_with_fields(self, user, new, words):
        response = change(login(user), new=new)

        body = response.json()
        assert response.status_code == 400
        assert body["code"] == "invalid"
        assert any(words in message for message in body["fields"]["new_password"])
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)

    def test_new_password_like_the_email_is_refused(self):
        user = UserFactory(email="marguerite.duras@example.com")

        response = change(login(user), new="marguerite.duras")

        assert response.status_code == 400
        assert "new_password" in response.json()["fields"]

    def test_other_sessions_refresh_tokens_are_revoked(self, user):
        other = login(user)
        mine = login(user)

        change(mine)

        response = refresh(other["refresh_token"])
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_refresh_token"

    def test_other_sessions_access_tokens_stop_at_once(self, user):
        other = login(user)
        mine = login(user)

        change(mine)

        response = client_for(other).get("/api/me")
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"

    def test_callers_session_keeps_its_access_and_refresh_tokens(self, user):
        mine = login(user)

        change(mine)

        assert client_for(mine).get("/api/me").status_code == 200
        rotated = refresh(mine["refresh_token"])
        assert rotated.status_code == 200
        assert client_for(rotated.json()).get("/api/me").status_code == 200

    def test_callers_session_survives_a_second_change_made_with_its_older_access_token(self, user):
        mine = login(user)
        change(mine)
        rotated = refresh(mine["refresh_token"]).json()

        assert change(mine, old=NEW_PASSWORD, new="another fine phrase 7").status_code == 204

        assert client_for(mine).get("/api/me").status_code == 200
        assert refresh(rotated["refresh_token"]).status_code == 200

    def test_a_login_after_the_change_is_a_valid_session(self, user):
        change(login(user))

        fresh = login(user, NEW_PASSWORD)

        assert client_for(fresh).get("/api/me").status_code == 200
        assert refresh(fresh["refresh_token"]).status_code == 200

    def test_a_session_ended_by_a_change_cannot_change_the_password_back(self, user):
        other = login(user)
        change(login(user))

        response = change(other, old=NEW_PASSWORD, new="attacker phrase 99")

        assert response.status_code == 401
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)

    def test_a_change_from_a_session_that_another_change_ended_while_it_waited_is_refused(self, user):
        """Both authenticated before either committed: the second, run under the user's row lock after
        the first committed, finds its own session ended (the API has no other way to reach this)."""
        other, mine = login(user), login(user)
        other_session = token_session(AccessToken(other["access_token"]).payload)
        change(mine)

        with pytest.raises(InvalidAccessTokenError):
            services.user_password_change(
                user=user, old_password=NEW_PASSWORD, new_password="attacker phrase 99", session=other_session
            )

        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)

    def test_other_sessions_ws_tickets_open_nothing(self, user):
        other = login(user)
        ticket = client_for(other).post("/api/ws/ticket").json()["ticket"]
        change(login(user))

        assert ws_ticket_consume(ticket=ticket) is None

    def test_unauthenticated_is_401(self, api_client):
        response = api_client.post(
            "/api/password", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
        )

        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"

    def test_malformed_json_is_400(self, user):
        response = client_for(login(user)).post(
            "/api/password", data="{not json", content_type="application/json"
        )

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_json"

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param([], id="list"),
            pytest.param({"old_password": DEFAULT_PASSWORD}, id="missing-new"),
            pytest.param({"new_password": NEW_PASSWORD}, id="missing-old"),
            pytest.param({"old_password": 5, "new_password": NEW_PASSWORD}, id="old-number"),
            pytest.param({"old_password": DEFAULT_PASSWORD, "new_password": None}, id="new-null"),
            pytest.param({"old_password": DEFAULT_PASSWORD, "new_password": ["x" * 9]}, id="new-list"),
            pytest.param(
                {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "email": "x@example.com"},
                id="unknown-member",
            ),
        ],
    )
    def test_wrong_shapes_are_400_and_change_nothing(self, user, body):
        response = client_for(login(user)).post("/api/password", body, format="json")

        assert response.status_code == 400
        assert set(response.json()) >= {"error", "code"}
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)

    def test_throttled_per_user(self, settings, user):
        lower_rate(settings, "password", "2/min")
        tokens = login(user)

        codes = [change(tokens, old="wrong guess number 1").status_code for _ in range(3)]

        assert codes == [400, 400, 429]


@pytest.mark.django_db(transaction=True)
def test_a_refresh_racing_the_change_leaves_the_other_session_ended():
    """The other session refreshes while the change runs: whichever commits first, afterwards none of its
    refresh tokens works and any access token it obtained is refused."""
    user = UserFactory()
    other, mine = login(user), login(user)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def run(name: str, call: Any) -> None:
        barrier.wait()
        try:
            results[name] = call()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("refresh", lambda: refresh(other["refresh_token"]))),
        threading.Thread(target=run, args=("change", lambda: change(mine))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results["change"].status_code == 204
    assert results["refresh"].status_code in {200, 401}
    if results["refresh"].status_code == 200:
        rotated = results["refresh"].json()
        assert refresh(rotated["refresh_token"]).status_code == 401
        assert client_for(rotated).get("/api/me").status_code == 401
    assert client_for(other).get("/api/me").status_code == 401
    assert client_for(mine).get("/api/me").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
class TestSockets:
    async def test_other_sessions_sockets_close_4410_and_the_callers_stays_open(self):
        user = await db(UserFactory)()
        other, mine = await db(login)(user), await db(login)(user)
        other_socket, accepted_other, _ = await open_socket(token=other["access_token"])
        my_socket, accepted_mine, _ = await open_socket(token=mine["access_token"])
        assert accepted_other
        assert accepted_mine

        assert (await db(change)(mine)).status_code == 204

        assert await other_socket.recv_close() == 4410
        assert await my_socket.nothing(0.5)
        await my_socket.send({"type": "typing", "payload": {"chat_id": 1}})
        error = await my_socket.recv()
        assert error["type"] == "error"  # answered: the socket is alive (not a member of chat 1)
        await my_socket.close()

    async def test_callers_ticket_socket_stays_open(self):
        user = await db(UserFactory)()
        mine = await db(login)(user)
        ticket = await db(lambda: client_for(mine).post("/api/ws/ticket").json()["ticket"])()
        socket, accepted, _ = await open_socket(query=f"ticket={ticket}")
        assert accepted

        await db(change)(mine)

        assert await socket.nothing(0.5)
        await socket.close()

    async def test_other_sessions_access_token_cannot_open_a_socket_after_the_change(self):
        user = await db(UserFactory)()
        other, mine = await db(login)(user), await db(login)(user)
        await db(change)(mine)

        socket, accepted, _ = await open_socket(token=other["access_token"])

        assert accepted
        assert await socket.recv_close() == 4401

    async def test_handshake_authenticated_before_the_change_that_joins_its_group_after_it_is_closed_4410(
        self, monkeypatch
    ):
        """The race, made deterministic: the change commits (and its broadcast leaves) between the
        middleware's authentication of another session's socket and that socket joining the user's group."""
        user = await db(UserFactory)()
        other, mine = await db(login)(user), await db(login)(user)
        authenticated, changed = asyncio.Event(), asyncio.Event()
        real_authenticate = realtime.handshake.auth.authenticate

        async def authenticate_then_wait_for_the_change(scope):
            result = await real_authenticate(scope)
            authenticated.set()
            await changed.wait()
            return result

        monkeypatch.setattr(realtime.handshake.auth, "authenticate", authenticate_then_wait_for_the_change)
        connecting = asyncio.create_task(open_socket(token=other["access_token"]))
        await authenticated.wait()
        assert (await db(change)(mine)).status_code == 204
        changed.set()
        socket, accepted, _ = await connecting

        assert accepted
        assert await socket.recv_close() == 4410

    async def test_wrong_old_password_closes_no_socket(self):
        user = await db(UserFactory)()
        other, mine = await db(login)(user), await db(login)(user)
        other_socket, _, _ = await open_socket(token=other["access_token"])

        assert (await db(change)(mine, old="not the password at all")).status_code == 400

        assert await other_socket.nothing(0.5)
        await other_socket.close()
