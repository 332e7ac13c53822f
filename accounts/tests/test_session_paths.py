"""Every path that changes a password, deactivates or deletes a user ends their sessions alike.

The rule lives in User.save() and a pre_delete receiver (accounts.lifecycle), so the admin's forms,
`manage.py changepassword`, ORM save()/delete() and the API agree: access and refresh tokens are
refused, sockets close (4410 for a password change, 4403 for deactivation or deletion). Logout and the
reuse of a rotated refresh token end one session the same way.
"""

import asyncio
import re
import threading

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.admin_helpers import (
    make_superuser,
    plain_static_storage,  # noqa: F401 - autouse fixture
)
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.test_password import NEW_PASSWORD, client_for, login, refresh
from chats.models import ChatMember
from chats.tests.factories import group_chat, private_chat
from messaging import services as message_services
from messaging.models import Message
from realtime.tests.wsclient import open_socket
from realtime.tickets import ws_ticket_consume

db = database_sync_to_async

# "Within 1 s": the close must arrive inside this, not merely eventually.
CLOSE_WITHIN = 1.0


async def closed_within(socket, seconds: float = CLOSE_WITHIN) -> int:
    """The close code, which must arrive within `seconds`; frames before it (tombstones) are passed over."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        output = await socket.communicator.receive_output(timeout=max(deadline - loop.time(), 0.01))
        if output["type"] == "websocket.close":
            return output.get("code")


def logout(tokens: dict[str, str]):
    return client_for(tokens).post("/api/logout", {"refresh_token": tokens["refresh_token"]}, format="json")


def me_status(tokens: dict[str, str]) -> int:
    return client_for(tokens).get("/api/me").status_code


def admin_change_password(staff: User, user: User, password: str) -> int:
    """Staff set `user`'s password with the admin's "change password" form, CSRF token and all."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    url = f"/admin/accounts/user/{user.pk}/password/"
    page = client.get(url)
    assert page.status_code == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    response = client.post(
        url,
        {"csrfmiddlewaretoken": token.group(1).decode(), "password1": password, "password2": password},
    )
    return response.status_code


def manage_changepassword(user: User, password: str, monkeypatch) -> None:
    """`manage.py changepassword <email>`, answering its two prompts."""
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.getpass.getpass",
        lambda *args, **kwargs: password,
    )
    call_command("changepassword", user.email)


def orm_set_password(user: User, password: str) -> None:
    """The plain ORM path: a fresh instance, set_password(), save()."""
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password(password)
    fresh.save()


# --- 1. a password change by any path ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["admin_form", "changepassword", "orm_save"])
async def test_password_change_by_any_path_ends_every_session(path, monkeypatch):
    user = await db(UserFactory)()
    staff = await db(make_superuser)()
    tokens = await db(login)(user)
    socket, accepted, _ = await open_socket(token=tokens["access_token"])
    assert accepted

    if path == "admin_form":
        assert await db(admin_change_password)(staff, user, NEW_PASSWORD) == 302
    elif path == "changepassword":
        await db(manage_changepassword)(user, NEW_PASSWORD, monkeypatch)
    else:
        await db(orm_set_password)(user, NEW_PASSWORD)

    assert await closed_within(socket) == 4410
    assert await db(me_status)(tokens) == 401
    assert (await db(refresh)(tokens["refresh_token"])).status_code == 401
    late, accepted, _ = await open_socket(token=tokens["access_token"])
    assert accepted
    assert await late.recv_close() == 4401
    # The new password works, and a login with it is a live session.
    assert await db(me_status)(await db(login)(user, NEW_PASSWORD)) == 200


@pytest.mark.django_db
def test_password_change_in_the_admin_needs_the_csrf_token():
    user, staff = UserFactory(), make_superuser()
    tokens = login(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    response = client.post(
        f"/admin/accounts/user/{user.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 403
    assert me_status(tokens) == 200


@pytest.mark.django_db
def test_a_save_that_leaves_the_password_alone_ends_no_session():
    user = UserFactory()
    tokens = login(user)
    fresh = User.objects.get(pk=user.pk)

    fresh.username = "renamed"
    fresh.save()

    assert me_status(tokens) == 200
    assert refresh(tokens["refresh_token"]).status_code == 200


@pytest.mark.django_db
def test_a_hasher_upgrade_at_login_ends_no_session(settings):
    """Django rehashes a password whose hasher is outdated when it is checked: the same password."""
    user = UserFactory()
    tokens = login(user)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    User.objects.filter(pk=user.pk).update(password=make_password(DEFAULT_PASSWORD, hasher="md5"))

    second = login(user)

    assert User.objects.get(pk=user.pk).password.startswith("pbkdf2_sha256$")
    assert me_status(tokens) == 200
    assert me_status(second) == 200


@pytest.mark.django_db
def test_a_stale_instance_saving_a_new_password_still_ends_a_later_sessions_tokens():
    """The generation moves on from the stored one, not the instance's: a stale copy cannot move it back."""
    user = UserFactory()
    stale = User.objects.get(pk=user.pk)
    first = login(user)
    assert (
        client_for(first)
        .post(
            "/api/password", {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
        )
        .status_code
        == 204
    )
    rotated = refresh(first["refresh_token"]).json()  # a token of the current generation

    stale.set_password("another password 77")
    stale.save()

    assert me_status(rotated) == 401
    assert refresh(rotated["refresh_token"]).status_code == 401


# --- 2. deactivation and deletion by any path ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_deactivation_with_orm_save_closes_sockets_and_refuses_tokens():
    user = await db(UserFactory)()
    tokens = await db(login)(user)
    socket, accepted, _ = await open_socket(token=tokens["access_token"])
    assert accepted

    def deactivate():
        fresh = User.objects.get(pk=user.pk)
        fresh.is_active = False
        fresh.save()

    await db(deactivate)()

    assert await closed_within(socket) == 4403
    assert await db(me_status)(tokens) == 401
    assert (await db(refresh)(tokens["refresh_token"])).status_code == 401
    # Reactivated, the old refresh token stays revoked.
    fresh = await db(User.objects.get)(pk=user.pk)
    fresh.is_active = True
    await db(fresh.save)()
    assert (await db(refresh)(tokens["refresh_token"])).status_code == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["instance", "queryset"])
async def test_orm_delete_closes_sockets_refuses_tokens_and_leaves_tombstones(path):
    user, other = await db(UserFactory)(), await db(UserFactory)()
    chat = await db(private_chat)(user, other)
    group = await db(group_chat)(user, other)

    def history():
        return [
            message_services.message_send(chat_id=chat.pk, sender=user, content="mine"),
            message_services.message_send(chat_id=chat.pk, sender=other, content="theirs"),
        ]

    mine, theirs = await db(history)()
    tokens = await db(login)(user)
    socket, accepted, _ = await open_socket(token=tokens["access_token"])
    assert accepted

    if path == "instance":
        await db(lambda: User.objects.get(pk=user.pk).delete())()
    else:
        await db(lambda: User.objects.filter(pk=user.pk).delete())()

    assert await closed_within(socket) == 4403
    assert await db(me_status)(tokens) == 401
    assert (await db(refresh)(tokens["refresh_token"])).status_code == 401
    tombstone = await db(Message.objects.get)(pk=mine.pk)
    assert (tombstone.seq, tombstone.content, tombstone.sender_id) == (mine.seq, "", None)
    assert tombstone.deleted_at is not None
    kept = await db(Message.objects.get)(pk=theirs.pk)
    assert (kept.content, kept.sender_id) == ("theirs", other.pk)
    group_members = await db(
        lambda: list(ChatMember.objects.filter(chat=group).values_list("user_id", "role"))
    )()
    assert group_members == [(other.pk, "owner")]


@pytest.mark.django_db(transaction=True)
def test_member_add_of_a_user_being_deleted_is_404_and_adds_nothing():
    owner, doomed = UserFactory(), UserFactory()
    chat = group_chat(owner)
    deleting, answered_event, answered = threading.Event(), threading.Event(), {}

    def delete_slowly():
        try:
            with transaction.atomic():
                User.objects.get(pk=doomed.pk).delete()
                deleting.set()
                # Hold the deletion open while member_add runs into it.
                answered["before_commit"] = answered_event.wait(0.5)
        finally:
            connection.close()

    thread = threading.Thread(target=delete_slowly)
    thread.start()
    assert deleting.wait(10)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(owner)['access_token']}")

    response = client.post(f"/api/chats/{chat.pk}/members", {"user_ids": [doomed.pk]}, format="json")
    answered_event.set()
    thread.join(10)

    assert answered["before_commit"] is False  # member_add waited for the deletion to commit
    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"
    assert list(ChatMember.objects.filter(chat=chat).values_list("user_id", flat=True)) == [owner.pk]


# --- 3. logout and refresh reuse -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_logout_ends_that_sessions_access_tokens_and_sockets_only():
    user = await db(UserFactory)()
    leaving, staying = await db(login)(user), await db(login)(user)
    leaving_socket, accepted, _ = await open_socket(token=leaving["access_token"])
    assert accepted
    staying_socket, accepted, _ = await open_socket(token=staying["access_token"])
    assert accepted

    assert (await db(logout)(leaving)).status_code == 204

    assert await closed_within(leaving_socket) == 4410
    assert await db(me_status)(leaving) == 401
    assert (await db(refresh)(leaving["refresh_token"])).status_code == 401
    assert await staying_socket.nothing(0.3)
    assert await db(me_status)(staying) == 200
    assert (await db(refresh)(staying["refresh_token"])).status_code == 200
    await staying_socket.close()


@pytest.mark.django_db
def test_logout_twice_is_still_204():
    user = UserFactory()
    tokens = login(user)
    other = login(user)

    assert logout(tokens).status_code == 204
    assert (
        client_for(other)
        .post("/api/logout", {"refresh_token": tokens["refresh_token"]}, format="json")
        .status_code
        == 204
    )


@pytest.mark.django_db
def test_logout_ends_every_access_token_of_the_session_across_rotations():
    user = UserFactory()
    first = login(user)
    second = refresh(first["refresh_token"]).json()

    assert logout(second).status_code == 204

    assert me_status(first) == 401
    assert me_status(second) == 401


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_reusing_a_rotated_refresh_token_ends_the_whole_session():
    user = await db(UserFactory)()
    stolen = await db(login)(user)
    bystander = await db(login)(user)
    rotated = (await db(refresh)(stolen["refresh_token"])).json()
    socket, accepted, _ = await open_socket(token=rotated["access_token"])
    assert accepted

    reuse = await db(refresh)(stolen["refresh_token"])

    assert reuse.status_code == 401
    assert reuse.json()["code"] == "invalid_refresh_token"
    assert await closed_within(socket) == 4410
    assert (await db(refresh)(rotated["refresh_token"])).status_code == 401
    assert await db(me_status)(rotated) == 401
    assert await db(me_status)(stolen) == 401
    # Another login session of the same user is not the stolen chain: it goes on.
    assert await db(me_status)(bystander) == 200
    assert (await db(refresh)(bystander["refresh_token"])).status_code == 200


@pytest.mark.django_db
def test_a_ticket_of_a_logged_out_session_opens_nothing():
    user = UserFactory()
    tokens = login(user)
    ticket = client_for(tokens).post("/api/ws/ticket")
    assert ticket.status_code in (200, 201)

    assert logout(tokens).status_code == 204

    assert ws_ticket_consume(ticket=ticket.json()["ticket"]) is None
