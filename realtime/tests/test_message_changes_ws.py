"""Edits, deletions and reactions over the chat socket: frames, errors, and resuming with `versions`."""

import json

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging import selectors as message_selectors
from messaging import services as message_services
from messaging.models import Message
from messaging.payloads import message_deleted_payload, message_payload
from realtime.tests.wsclient import access_token, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async


@db
def make_user():
    return UserFactory()


@db
def private_chat(a, b):
    chat, _ = chat_services.chat_create_private(user=a, other_user_id=b.pk)
    return chat


@db
def group_chat(creator, members):
    return chat_services.chat_create_group(
        creator=creator, name="team", participant_ids=[m.pk for m in members]
    )


@db
def send(chat, sender, content="hello"):
    return message_services.message_send(chat_id=chat.pk, sender=sender, content=content)


@db
def edit(message, editor, content):
    return message_services.message_edit(message_id=message.pk, editor=editor, content=content)


@db
def delete(message, actor):
    return message_services.message_delete(message_id=message.pk, actor=actor)


@db
def react(message, user, emoji):
    return message_services.reaction_add(message_id=message.pk, user=user, emoji=emoji)


@db
def stored_payload(message_id):
    message = Message.objects.get(pk=message_id)
    message_selectors.messages_load_details([message])
    return message_payload(message)


@db
def stored_tombstone(message_id):
    return message_deleted_payload(Message.objects.get(pk=message_id))


@db
def rest(user, method, path, body=None):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return getattr(client, method)(path, body, format="json")


async def pair():
    alice, bob = await make_user(), await make_user()
    return alice, bob, await private_chat(alice, bob)


def edit_frame(message_id, content):
    return {"type": "edit_message", "payload": {"message_id": message_id, "content": content}}


def delete_frame(message_id):
    return {"type": "delete_message", "payload": {"message_id": message_id}}


async def expect_error(socket, message, code):
    assert await socket.recv() == {"type": "error", "payload": {"message": message, "code": code}}


# --- edit_message ----------------------------------------------------------------------------------


async def test_edit_message_sends_message_updated_to_every_member_socket():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "helo")
    a, _, _ = await open_socket(alice)
    b, _, _ = await open_socket(bob)

    await a.send(edit_frame(message.pk, "hello"))

    got_a, got_b = await a.recv(), await b.recv()
    assert got_a == got_b == {"type": "message_updated", "payload": await stored_payload(message.pk)}
    assert got_a["payload"]["content"] == "hello"
    assert got_a["payload"]["edited_at"] is not None
    await a.close()
    await b.close()


async def test_edit_message_of_another_users_message_gets_an_error_and_changes_nothing():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "mine")
    b, _, _ = await open_socket(bob)

    await b.send(edit_frame(message.pk, "yours now"))

    await expect_error(b, "only the sender can edit a message", "not_message_author")
    assert (await stored_payload(message.pk))["content"] == "mine"
    await b.close()


@pytest.mark.parametrize(
    ("content", "message", "code"),
    [
        ("   ", "message content cannot be empty", "message_empty"),
        ("x" * 4001, "message content is too long (at most 4000 characters)", "message_too_long"),
    ],
    ids=["blank", "too_long"],
)
async def test_edit_message_with_bad_content_gets_an_error(content, message, code):
    alice, _, chat = await pair()
    sent = await send(chat, alice, "original")
    a, _, _ = await open_socket(alice)

    await a.send_raw(json.dumps(edit_frame(sent.pk, content)))

    await expect_error(a, message, code)
    await a.close()


async def test_edit_message_of_a_deleted_message_gets_an_error():
    alice, _, chat = await pair()
    message = await send(chat, alice, "gone soon")
    await delete(message, alice)
    a, _, _ = await open_socket(alice)

    await a.send(edit_frame(message.pk, "back"))

    await expect_error(a, "message has been deleted", "message_deleted")
    await a.close()


async def test_edit_message_in_a_chat_you_are_not_in_gets_message_not_found():
    alice, _, chat = await pair()
    message = await send(chat, alice, "private")
    eve = await make_user()
    e, _, _ = await open_socket(eve)

    await e.send(edit_frame(message.pk, "x"))
    await e.send(edit_frame(10**12, "x"))

    await expect_error(e, "message not found", "message_not_found")
    await expect_error(e, "message not found", "message_not_found")
    await e.close()


@pytest.mark.parametrize(
    "payload",
    [
        {"message_id": "1", "content": "x"},
        {"message_id": 1},
        {"content": "x"},
        {"message_id": 0, "content": "x"},
    ],
    ids=["string_id", "no_content", "no_id", "zero_id"],
)
async def test_edit_message_with_a_bad_payload_gets_invalid_payload(payload):
    alice = await make_user()
    a, _, _ = await open_socket(alice)

    await a.send_raw(json.dumps({"type": "edit_message", "payload": payload}))

    await expect_error(a, "invalid payload", "invalid_payload")
    await a.close()


async def test_socket_stays_open_after_an_edit_error():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "mine")
    b, _, _ = await open_socket(bob)
    await b.send(edit_frame(message.pk, "nope"))
    await expect_error(b, "only the sender can edit a message", "not_message_author")

    await b.send({"type": "send_message", "payload": {"chat_id": chat.pk, "content": "still here"}})

    assert (await b.recv())["payload"]["content"] == "still here"
    await b.close()


# --- delete_message --------------------------------------------------------------------------------


async def test_delete_message_sends_message_deleted_to_every_member_socket():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "oops")
    a, _, _ = await open_socket(alice)
    b, _, _ = await open_socket(bob)

    await a.send(delete_frame(message.pk))

    got_a, got_b = await a.recv(), await b.recv()
    expected = {"type": "message_deleted", "payload": await stored_tombstone(message.pk)}
    assert got_a == got_b == expected
    assert (await stored_payload(message.pk))["deleted"] is True
    await a.close()
    await b.close()


async def test_delete_message_by_a_group_admin_sends_message_deleted():
    owner, member = await make_user(), await make_user()
    team = await group_chat(owner, [member])
    message = await send(team, member, "off topic")
    m, _, _ = await open_socket(member)
    o, _, _ = await open_socket(owner)

    await o.send(delete_frame(message.pk))

    assert (await m.recv())["type"] == "message_deleted"
    assert (await o.recv())["type"] == "message_deleted"
    await m.close()
    await o.close()


async def test_delete_message_twice_sends_nothing_the_second_time():
    alice, _, chat = await pair()
    message = await send(chat, alice, "once")
    a, _, _ = await open_socket(alice)
    await a.send(delete_frame(message.pk))
    assert (await a.recv())["type"] == "message_deleted"

    await a.send(delete_frame(message.pk))

    assert await a.nothing(0.5)
    await a.close()


async def test_delete_message_of_another_users_message_in_a_private_chat_gets_an_error():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "mine")
    b, _, _ = await open_socket(bob)

    await b.send(delete_frame(message.pk))

    await expect_error(
        b,
        "only the sender, a group owner or admin, or a moderator can delete a message",
        "cannot_delete_message",
    )
    assert (await stored_payload(message.pk))["deleted"] is False
    await b.close()


async def test_delete_message_in_a_chat_you_are_not_in_gets_message_not_found():
    alice, _, chat = await pair()
    message = await send(chat, alice, "private")
    eve = await make_user()
    e, _, _ = await open_socket(eve)

    await e.send(delete_frame(message.pk))

    await expect_error(e, "message not found", "message_not_found")
    assert (await stored_payload(message.pk))["deleted"] is False
    await e.close()


async def test_delete_message_with_a_bad_payload_gets_invalid_payload():
    alice = await make_user()
    a, _, _ = await open_socket(alice)

    await a.send_raw(json.dumps({"type": "delete_message", "payload": {"message_id": "7"}}))

    await expect_error(a, "invalid payload", "invalid_payload")
    await a.close()


# --- reactions over REST reach the sockets ---------------------------------------------------------


async def test_rest_reaction_add_sends_reaction_added_to_every_member_socket():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "react")
    a, _, _ = await open_socket(alice)
    b, _, _ = await open_socket(bob)

    response = await rest(bob, "post", f"/api/messages/{message.pk}/reactions", {"emoji": "👍"})

    assert response.status_code == 200
    expected = {
        "type": "reaction_added",
        "payload": {
            "message_id": message.pk,
            "chat_id": chat.pk,
            "emoji": "👍",
            "user_id": bob.pk,
            "count": 1,
            "version": response.json()["version"],
        },
    }
    assert await a.recv() == expected
    assert await b.recv() == expected
    await a.close()
    await b.close()


async def test_rest_reaction_remove_sends_reaction_removed_with_the_new_count():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "react")
    await react(message, alice, "🎉")
    await react(message, bob, "🎉")
    a, _, _ = await open_socket(alice)

    response = await rest(bob, "delete", f"/api/messages/{message.pk}/reactions/%F0%9F%8E%89")

    assert response.status_code == 200
    frame = await a.recv()
    assert frame["type"] == "reaction_removed"
    assert (frame["payload"]["emoji"], frame["payload"]["user_id"], frame["payload"]["count"]) == (
        "🎉",
        bob.pk,
        1,
    )
    await a.close()


async def test_rest_reaction_that_changes_nothing_sends_nothing():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "react")
    await react(message, bob, "👍")
    a, _, _ = await open_socket(alice)

    response = await rest(bob, "post", f"/api/messages/{message.pk}/reactions", {"emoji": "👍"})

    assert response.status_code == 200
    assert await a.nothing(0.5)
    await a.close()


# --- resume learns of changes it missed ----------------------------------------------------------


async def test_resume_with_versions_replays_edits_and_deletions_missed_while_away():
    alice, bob, chat = await pair()
    first, second, third = (
        await send(chat, alice, "one"),
        await send(chat, alice, "two"),
        await send(chat, alice, "3"),
    )
    # Bob has seen all three (seq 3) and no change (version 0); then goes away.
    await edit(first, alice, "one, edited")
    await delete(second, alice)
    await react(third, alice, "👍")
    b, _, _ = await open_socket(bob)

    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 3}, "versions": {str(chat.pk): 0}}})

    frames = [await b.recv() for _ in range(4)]
    assert frames == [
        {"type": "message_updated", "payload": await stored_payload(first.pk)},
        {"type": "message_deleted", "payload": await stored_tombstone(second.pk)},
        {"type": "message_updated", "payload": await stored_payload(third.pk)},
        {"type": "resumed", "payload": {"chats": {str(chat.pk): 3}, "versions": {str(chat.pk): 3}}},
    ]
    assert frames[0]["payload"]["content"] == "one, edited"
    assert frames[2]["payload"]["reactions"] == [{"emoji": "👍", "count": 1}]
    await b.close()


async def test_resume_with_versions_replays_only_changes_after_the_clients_version():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "v0")
    await edit(message, alice, "v1")
    await edit(message, alice, "v2")
    b, _, _ = await open_socket(bob)
    c, _, _ = await open_socket(bob)

    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 1}, "versions": {str(chat.pk): 2}}})
    await c.send({"type": "resume", "payload": {"chats": {str(chat.pk): 1}, "versions": {str(chat.pk): 1}}})

    assert await b.recv() == {
        "type": "resumed",
        "payload": {"chats": {str(chat.pk): 1}, "versions": {str(chat.pk): 2}},
    }
    assert (await c.recv())["payload"]["content"] == "v2"
    assert (await c.recv())["type"] == "resumed"
    await b.close()
    await c.close()


async def test_repeated_resume_does_not_replay_changes_again():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "v0")
    await edit(message, alice, "v1")
    b, _, _ = await open_socket(bob)
    resume = {"type": "resume", "payload": {"chats": {str(chat.pk): 1}, "versions": {str(chat.pk): 0}}}

    await b.send(resume)
    assert (await b.recv())["payload"]["content"] == "v1"
    assert (await b.recv())["type"] == "resumed"
    await b.send(resume)  # this socket already replayed that change: it is not sent twice

    assert await b.recv() == {
        "type": "resumed",
        "payload": {"chats": {str(chat.pk): 1}, "versions": {str(chat.pk): 1}},
    }
    assert await b.nothing(0.3)
    await b.close()


async def test_resume_sends_a_message_missed_whole_once_in_its_current_state():
    alice, bob, chat = await pair()
    await send(chat, alice, "seen")
    missed = await send(chat, alice, "typo")
    await edit(missed, alice, "fixed")
    b, _, _ = await open_socket(bob)

    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 1}, "versions": {str(chat.pk): 0}}})

    # The edit is already in the replayed message: no message_updated for it.
    assert await b.recv() == {"type": "new_message", "payload": await stored_payload(missed.pk)}
    assert (await b.recv())["type"] == "resumed"
    assert await b.nothing(0.3)
    await b.close()


async def test_resume_without_versions_replays_no_changes():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "before")
    await edit(message, alice, "after")
    b, _, _ = await open_socket(bob)

    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 1}}})

    assert await b.recv() == {"type": "resumed", "payload": {"chats": {str(chat.pk): 1}}}
    await b.close()


async def test_resume_with_more_changes_than_the_replay_limit_sends_resync_required(settings, chat_overrides):
    chat_overrides.WS_REPLAY_LIMIT = 2
    alice, bob, chat = await pair()
    for i in range(3):
        await edit(await send(chat, alice, f"m{i}"), alice, f"m{i} edited")
    b, _, _ = await open_socket(bob)

    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 3}, "versions": {str(chat.pk): 0}}})

    assert await b.recv() == {"type": "resync_required", "payload": {"chat_id": chat.pk}}
    assert await b.recv() == {"type": "resumed", "payload": {"chats": {str(chat.pk): 3}, "versions": {}}}
    await b.close()


async def test_live_edit_after_a_resume_is_delivered():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "draft")
    await edit(message, alice, "draft 2")
    b, _, _ = await open_socket(bob)
    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 1}, "versions": {str(chat.pk): 0}}})
    assert (await b.recv())["type"] == "message_updated"
    assert (await b.recv())["type"] == "resumed"

    await edit(message, alice, "final")

    frame = await b.recv()
    assert (frame["type"], frame["payload"]["content"], frame["payload"]["version"]) == (
        "message_updated",
        "final",
        2,
    )
    await b.close()
