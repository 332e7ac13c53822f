"""Deleting a user (admin, or accounts.services.user_delete) rewrites nobody else's history.

Their messages stay as tombstones (seq kept, content and attachments erased, sender_id null), change
feeds see them, their reactions are taken back, their sockets close at once and their tokens stop.
"""

import pytest
from channels.db import database_sync_to_async
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import User
from accounts.tests.admin_helpers import (
    action,
    client_for,
    make_superuser,
    plain_static_storage,  # noqa: F401 - autouse fixture
)
from accounts.tests.factories import UserFactory
from chats.models import Chat, ChatMember
from chats.tests.factories import group_chat, private_chat, run_in_threads
from messaging import services as message_services
from messaging.attachments import services as attachment_services
from messaging.models import Attachment, Message, Reaction
from realtime.groups import chat_group, user_group
from realtime.tests.wsclient import access_token, open_socket

USERS = "/admin/accounts/user/"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def client_of(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return client


def alternating_history(chat, first, second, count=5):
    """Messages 1..count sent through the service, by `first` on odd seqs and `second` on even."""
    return [
        message_services.message_send(chat_id=chat.pk, sender=first if i % 2 else second, content=f"m{i}")
        for i in range(1, count + 1)
    ]


def history(client, chat):
    response = client.get("/api/messages/get", {"chat_id": chat.pk, "after_seq": 0})
    assert response.status_code == 200
    return response.json()["messages"]


def admin_delete_page(user):
    """Delete `user` from their admin page, as a superuser confirms it."""
    return client_for(make_superuser()).post(f"{USERS}{user.pk}/delete/", {"post": "yes"})


# --- history ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_admin_delete_leaves_the_users_messages_as_tombstones_with_their_seq():
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)
    alternating_history(chat, alice, bob)

    response = admin_delete_page(bob)

    assert response.status_code == 302
    assert not User.objects.filter(pk=bob.pk).exists()
    messages = history(client_of(alice), chat)
    assert [m["seq"] for m in messages] == [1, 2, 3, 4, 5]
    assert [(m["sender_id"], m["content"], m["deleted"]) for m in messages if m["seq"] % 2 == 0] == [
        (None, "", True),
        (None, "", True),
    ]
    assert [m["content"] for m in messages if m["seq"] % 2] == ["m1", "m3", "m5"]


@pytest.mark.django_db(transaction=True)
def test_admin_delete_selected_action_deletes_through_the_service_too():
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)
    alternating_history(chat, alice, bob)

    action(client_for(make_superuser()), USERS, "delete_selected", [bob.pk], post="yes")

    assert not User.objects.filter(pk=bob.pk).exists()
    assert [m["sender_id"] for m in history(client_of(alice), chat)] == [
        alice.pk,
        None,
        alice.pk,
        None,
        alice.pk,
    ]


@pytest.mark.django_db(transaction=True)
def test_user_delete_tombstones_reach_the_change_feed_with_new_versions():
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)
    alternating_history(chat, alice, bob)

    services.user_delete(user=bob)

    response = client_of(alice).get("/api/messages/changes", {"chat_id": chat.pk, "since_version": 0})
    assert response.status_code == 200
    changed = response.json()["messages"]
    assert [(m["seq"], m["sender_id"], m["deleted"]) for m in changed] == [(2, None, True), (4, None, True)]
    assert len({m["version"] for m in changed}) == 2


@pytest.mark.django_db(transaction=True)
def test_user_delete_broadcasts_message_deleted_and_account_disabled(chat_events):
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)
    messages = alternating_history(chat, alice, bob)
    chat_events.clear()

    services.user_delete(user=bob)

    deleted = [e.payload for e in chat_events if e.event == "message_deleted"]
    assert [(e["id"], e["seq"]) for e in deleted] == [(messages[1].pk, 2), (messages[3].pk, 4)]
    assert all(e.group == chat_group(chat.pk) for e in chat_events if e.event == "message_deleted")
    assert [e.group for e in chat_events if e.event == "account_disabled"] == [user_group(bob.pk)]


@pytest.mark.django_db(transaction=True)
def test_sends_racing_a_user_delete_are_tombstoned_or_refused_never_left_with_content():
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)
    senders = 8

    def work(i):
        if i == senders:
            return services.user_delete(user=bob)
        for n in range(5):
            message_services.message_send(chat_id=chat.pk, sender=bob, content=f"racing {i}.{n}")
        return None

    results = run_in_threads(senders + 1, work)

    assert results[senders] is None
    refused = [r for r in results if isinstance(r, Exception)]
    assert all(getattr(r, "code", None) == "account_disabled" for r in refused), refused
    # A message committed before the delete became a tombstone; none was stored after it.
    assert not Message.objects.filter(chat=chat, sender__isnull=True, deleted_at__isnull=True).exists()
    assert not Message.objects.filter(chat=chat).exclude(content="").exists()
    seqs = list(Message.objects.filter(chat=chat).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.django_db(transaction=True)
def test_user_delete_of_a_user_already_deleted_does_nothing():
    bob = UserFactory()
    services.user_delete(user=bob)

    services.user_delete(user=bob)

    assert not User.objects.filter(pk=bob.pk).exists()


# --- attachments, reactions, chats -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_user_delete_erases_their_sent_and_unsent_attachments_from_storage():
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)
    sent = attachment_services.attachment_upload(uploader=bob, file=SimpleUploadedFile("a.png", PNG))
    unsent = attachment_services.attachment_upload(uploader=bob, file=SimpleUploadedFile("b.png", PNG))
    message_services.message_send(chat_id=chat.pk, sender=bob, content="photo", attachment_ids=[sent.pk])
    names = [sent.file.name, unsent.file.name]
    assert all(default_storage.exists(name) for name in names)

    services.user_delete(user=bob)

    assert not Attachment.objects.filter(pk__in=[sent.pk, unsent.pk]).exists()
    assert not any(default_storage.exists(name) for name in names)
    [message] = history(client_of(alice), chat)
    assert message["attachments"] == []


@pytest.mark.django_db(transaction=True)
def test_user_delete_takes_back_their_reactions_with_a_version_bump():
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)
    message = message_services.message_send(chat_id=chat.pk, sender=alice, content="hi")
    message_services.reaction_add(message_id=message.pk, user=bob, emoji="👍")
    message_services.reaction_add(message_id=message.pk, user=alice, emoji="👍")
    before = Message.objects.get(pk=message.pk).version

    services.user_delete(user=bob)

    [shown] = history(client_of(alice), chat)
    assert shown["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    assert shown["version"] > before
    assert not Reaction.objects.filter(user_id=bob.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_user_delete_of_a_group_owner_hands_ownership_over_and_keeps_the_group():
    owner, member = UserFactory(), UserFactory()
    chat = group_chat(owner, member)

    services.user_delete(user=owner)

    assert list(ChatMember.objects.filter(chat=chat).values_list("user_id", "role")) == [(member.pk, "owner")]


@pytest.mark.django_db(transaction=True)
def test_user_delete_keeps_private_chats_for_the_other_member():
    alice, bob = UserFactory(), UserFactory()
    chat = private_chat(alice, bob)

    services.user_delete(user=bob)

    assert Chat.objects.filter(pk=chat.pk).exists()
    assert list(ChatMember.objects.filter(chat=chat).values_list("user_id", flat=True)) == [alice.pk]
    assert client_of(alice).get(f"/api/chats/{chat.pk}").status_code == 200


# --- credentials and sockets -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deleted_users_access_and_refresh_tokens_stop_working():
    bob = UserFactory()
    refresh = RefreshToken.for_user(bob)
    access = str(refresh.access_token)

    services.user_delete(user=bob)

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = client.get("/api/me")
    renewed = APIClient().post("/api/refresh", {"refresh_token": str(refresh)}, format="json")
    assert me.status_code == 401
    assert me.json()["code"] == "invalid_token"
    assert renewed.status_code == 401
    assert renewed.json()["code"] == "invalid_refresh_token"


db = database_sync_to_async


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_user_delete_closes_their_open_sockets_4403_and_refuses_new_ones_4401():
    alice, bob = await db(UserFactory)(), await db(UserFactory)()
    await db(private_chat)(alice, bob)
    token = await db(access_token)(bob)
    first, accepted_first, _ = await open_socket(token=token)
    second, accepted_second, _ = await open_socket(token=token)
    bystander, _, _ = await open_socket(alice)
    assert accepted_first
    assert accepted_second

    await db(services.user_delete)(user=bob)

    assert await first.recv_close() == 4403
    assert await second.recv_close() == 4403
    again, accepted, _ = await open_socket(token=token)
    assert accepted
    assert await again.recv_close() == 4401
    await bystander.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_resume_replays_a_deleted_users_tombstones_with_sender_id_null():
    alice, bob = await db(UserFactory)(), await db(UserFactory)()
    chat = await db(private_chat)(alice, bob)
    await db(alternating_history)(chat, alice, bob, 3)
    await db(services.user_delete)(user=bob)
    socket, _, _ = await open_socket(alice)

    # Every frame is checked against asyncapi.yaml, which must allow sender_id null.
    await socket.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})
    frames = [await socket.recv() for _ in range(4)]
    await socket.close()

    assert [(f["payload"]["seq"], f["payload"]["sender_id"]) for f in frames[:3]] == [
        (1, alice.pk),
        (2, None),
        (3, alice.pk),
    ]
    assert frames[3]["type"] == "resumed"
