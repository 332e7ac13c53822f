"""Chat services called directly (as the WebSocket consumer does): broadcasts after commit, none on failure."""

import pytest

from accounts.errors import UserNotFoundError
from chats import services
from chats.errors import InvalidChatNameError, NotChatAdminError, NotChatMemberError
from chats.models import Chat, ChatMember
from chats.payloads import chat_payload
from chats.tests.factories import add_messages, group_chat, private_chat


def sent(events):
    return [(e.group, e.event, e.payload) for e in events]


# --- broadcasts (real commits: chat_events uses the transactional database) -------------------


def test_chat_create_private_broadcasts_chat_created_to_both_users(chat_events, user, bob):
    chat, created = services.chat_create_private(user=user, other_user_id=bob.pk)

    assert created is True
    assert sent(chat_events) == [
        (f"user.{user.pk}", "chat_created", chat_payload(chat)),
        (f"user.{bob.pk}", "chat_created", chat_payload(chat)),
    ]


def test_chat_create_private_broadcasts_nothing_when_chat_exists(chat_events, user, bob):
    services.chat_create_private(user=user, other_user_id=bob.pk)
    chat_events.clear()

    _, created = services.chat_create_private(user=bob, other_user_id=user.pk)

    assert created is False
    assert chat_events == []


def test_chat_create_group_broadcasts_chat_created_to_every_member(chat_events, user, bob, carol):
    chat = services.chat_create_group(creator=user, name="Team", participant_ids=[bob.pk, carol.pk])

    assert sent(chat_events) == [
        (f"user.{uid}", "chat_created", chat_payload(chat)) for uid in (user.pk, bob.pk, carol.pk)
    ]


def test_chat_create_group_broadcasts_nothing_and_writes_nothing_when_participant_unknown(
    chat_events, user, bob
):
    with pytest.raises(UserNotFoundError):
        services.chat_create_group(creator=user, name="Team", participant_ids=[bob.pk, 987654321])

    assert chat_events == []
    assert Chat.objects.count() == 0
    assert ChatMember.objects.count() == 0


def test_member_add_broadcasts_to_chat_group_then_to_new_members_user_group(chat_events, user, bob, carol):
    chat = group_chat(user, bob)

    services.member_add(chat_id=chat.pk, actor=user, user_ids=[carol.pk, bob.pk])

    event = {"chat": chat_payload(chat), "user_id": carol.pk}
    assert sent(chat_events) == [
        (f"chat.{chat.pk}", "member_added", event),
        (f"user.{carol.pk}", "member_added", event),
    ]


def test_member_add_broadcasts_nothing_when_actor_is_not_admin(chat_events, user, bob, carol):
    chat = group_chat(user, bob)

    with pytest.raises(NotChatAdminError):
        services.member_add(chat_id=chat.pk, actor=bob, user_ids=[carol.pk])

    assert chat_events == []


def test_member_remove_broadcasts_to_chat_group_and_removed_users_group(chat_events, user, bob):
    chat = group_chat(user, bob)

    services.member_remove(chat_id=chat.pk, actor=user, user_id=bob.pk)

    event = {"chat_id": chat.pk, "user_id": bob.pk}
    assert sent(chat_events) == [
        (f"chat.{chat.pk}", "member_removed", event),
        (f"user.{bob.pk}", "member_removed", event),
    ]


def test_chat_rename_broadcasts_chat_updated(chat_events, user):
    chat = group_chat(user, name="Old")

    renamed = services.chat_rename(chat_id=chat.pk, actor=user, name="New")

    assert sent(chat_events) == [(f"chat.{chat.pk}", "chat_updated", chat_payload(renamed))]
    assert chat_payload(renamed)["name"] == "New"


def test_chat_rename_broadcasts_nothing_when_name_is_invalid(chat_events, user):
    chat = group_chat(user, name="Old")

    with pytest.raises(InvalidChatNameError):
        services.chat_rename(chat_id=chat.pk, actor=user, name=" ")

    assert chat_events == []


def test_chat_mark_read_broadcasts_read_when_marker_moves(chat_events, user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 3)

    assert services.chat_mark_read(chat_id=chat.pk, user=user, seq=2) == 2
    assert sent(chat_events) == [
        (f"chat.{chat.pk}", "read", {"chat_id": chat.pk, "user_id": user.pk, "seq": 2})
    ]


def test_chat_mark_read_broadcasts_nothing_when_marker_would_move_backwards(chat_events, user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 3)
    services.chat_mark_read(chat_id=chat.pk, user=user, seq=3)
    chat_events.clear()

    assert services.chat_mark_read(chat_id=chat.pk, user=user, seq=1) == 3
    assert chat_events == []


# --- contract details the realtime app relies on ------------------------------------------


@pytest.mark.django_db
def test_access_chat_raises_not_member_for_missing_chat(user):
    from chats.access import access_chat

    with pytest.raises(NotChatMemberError) as raised:
        access_chat(chat_id=987654321, user=user)

    assert raised.value.status_code == 403
    assert raised.value.code == "not_chat_member"
    assert raised.value.message == "user is not a member of the chat"


@pytest.mark.django_db
def test_chat_ids_for_user_returns_the_users_chats_only(user, bob, carol):
    from chats.selectors import chat_ids_for_user

    first, second = private_chat(user, bob), group_chat(carol, user)
    private_chat(bob, carol)

    assert sorted(chat_ids_for_user(user=user)) == sorted([first.pk, second.pk])


@pytest.mark.django_db
def test_chat_payload_has_seed_fields_with_z_timestamp(user):
    chat = group_chat(user, name="Team")

    payload = chat_payload(chat)

    assert set(payload) == {"id", "type", "name", "created_at"}
    assert payload["created_at"].endswith("Z")
