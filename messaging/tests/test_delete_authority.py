"""One rule for deleting someone else's message, on every transport: the `messaging.delete_message`
permission (the Moderators group), decided by the service from the acting user; `is_staff` alone
grants nothing. The author may always delete their own message.
"""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from accounts.tests.admin_helpers import (
    action,
    client_for,
    make_moderator,
    make_plain_staff,
    plain_static_storage,  # noqa: F401 - autouse fixture
)
from accounts.tests.factories import UserFactory
from chats.tests.factories import add_messages, group_chat
from messaging.models import Message
from realtime.tests.wsclient import access_token, open_socket

MESSAGES = "/admin/messaging/message/"


def rest_delete(actor, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(actor)}")
    return client.delete(f"/api/messages/{message.pk}")


def is_deleted(message) -> bool:
    return Message.objects.get(pk=message.pk).deleted_at is not None


def staff_member_and_message():
    """A group chat where a plain staff user is an ordinary member, and another member's message."""
    author, staff = UserFactory(), make_plain_staff()
    chat = group_chat(author, staff)
    [message] = add_messages(chat, author, 1)
    return author, staff, message


# --- REST ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rest_delete_of_anothers_message_by_staff_without_permission_is_403():
    _, staff, message = staff_member_and_message()

    response = rest_delete(staff, message)

    assert response.status_code == 403
    assert response.json()["code"] == "cannot_delete_message"
    assert not is_deleted(message)


@pytest.mark.django_db
def test_rest_delete_by_staff_outside_the_chat_is_404_like_anyone_elses():
    _, _, message = staff_member_and_message()

    response = rest_delete(make_plain_staff(), message)

    assert response.status_code == 404
    assert not is_deleted(message)


@pytest.mark.django_db
def test_rest_delete_by_moderator_outside_the_chat_is_allowed():
    _, _, message = staff_member_and_message()

    response = rest_delete(make_moderator(), message)

    assert response.status_code == 204
    assert is_deleted(message)


@pytest.mark.django_db
def test_rest_delete_by_the_author_is_allowed_without_any_permission():
    author, _, message = staff_member_and_message()

    response = rest_delete(author, message)

    assert response.status_code == 204
    assert is_deleted(message)


# --- admin ---------------------------------------------------------------------------------------


def admin_delete(actor, message):
    return action(client_for(actor), MESSAGES, "delete_selected", [message.pk], post="yes")


@pytest.mark.django_db
def test_admin_delete_by_staff_without_permission_is_refused():
    _, staff, message = staff_member_and_message()

    response = admin_delete(staff, message)

    assert response.status_code == 403
    assert not is_deleted(message)


@pytest.mark.django_db
def test_admin_delete_by_moderator_is_allowed():
    _, _, message = staff_member_and_message()

    admin_delete(make_moderator(), message)

    assert is_deleted(message)


@pytest.mark.django_db
def test_admin_delete_page_of_someone_elses_message_by_staff_without_permission_is_403():
    _, staff, message = staff_member_and_message()

    response = client_for(staff).post(f"{MESSAGES}{message.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert not is_deleted(message)


@pytest.mark.django_db
def test_admin_delete_page_of_their_own_message_is_allowed_for_staff_without_permission():
    _, staff, _ = staff_member_and_message()
    [own] = add_messages(group_chat(staff), staff, 1)

    response = client_for(staff).post(f"{MESSAGES}{own.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert is_deleted(own)


# --- WebSocket -----------------------------------------------------------------------------------

db = database_sync_to_async


async def ws_delete(actor, message):
    socket, accepted, _ = await open_socket(actor)
    assert accepted
    await socket.send({"type": "delete_message", "payload": {"message_id": message.pk}})
    frame = await socket.recv()
    await socket.close()
    return frame


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_ws_delete_of_anothers_message_by_staff_without_permission_gets_an_error_frame():
    _, staff, message = await db(staff_member_and_message)()

    frame = await ws_delete(staff, message)

    assert frame["type"] == "error"
    assert frame["payload"]["code"] == "cannot_delete_message"
    assert not await db(is_deleted)(message)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_ws_delete_by_a_moderator_member_is_allowed():
    author, moderator = await db(UserFactory)(), await db(make_moderator)()
    chat = await db(group_chat)(author, moderator)
    [message] = await db(add_messages)(chat, author, 1)

    frame = await ws_delete(moderator, message)

    assert frame["type"] == "message_deleted"
    assert await db(is_deleted)(message)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_ws_delete_by_the_author_is_allowed():
    author, _, message = await db(staff_member_and_message)()

    frame = await ws_delete(author, message)

    assert frame["type"] == "message_deleted"
    assert await db(is_deleted)(message)
