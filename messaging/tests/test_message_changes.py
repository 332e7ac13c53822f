"""Edits, deletions (tombstones), reactions and the change feed, through the services and selectors."""

import pytest
from django.utils import timezone

from accounts.tests.admin_helpers import make_moderator
from chats.errors import NotChatMemberError
from chats.models import Chat
from chats.tests.factories import add_messages, group_chat, private_chat, run_in_threads
from messaging import selectors, services
from messaging.errors import (
    InvalidEmojiError,
    InvalidReplyError,
    MessageDeletedError,
    MessageEmptyError,
    MessageNotFoundError,
    MessageTooLongError,
    NotMessageAuthorError,
    NotMessageModeratorError,
)
from messaging.models import Message, Reaction
from messaging.payloads import message_payload


def stored_payload(message_id):
    """The payload of the message as stored now, loaded as the selectors load it."""
    message = Message.objects.get(pk=message_id)
    selectors.messages_load_details([message])
    return message_payload(message)


@pytest.fixture
def chat(user, bob):
    return private_chat(user, bob)


@pytest.fixture
def team(user, bob, carol, dave):
    """A group owned by user, with carol as admin and bob, dave as members."""
    return group_chat(user, bob, dave, admins=(carol,))


def events_of(chat_events):
    return [(e.group, e.event) for e in chat_events]


# --- edit -------------------------------------------------------------------------------------------


def test_message_edit_broadcasts_message_updated_with_the_new_payload(chat_events, user, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="helo")
    chat_events.clear()

    edited = services.message_edit(message_id=message.pk, editor=user, content="  hello  ")

    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (f"chat.{chat.pk}", "message_updated", message_payload(edited))
    ]
    assert chat_events[0].payload["content"] == "hello"
    assert chat_events[0].payload["edited_at"] is not None


@pytest.mark.django_db
def test_message_edit_bumps_the_chats_change_counter(user, chat):
    first, second = add_messages(chat, user, 2)

    services.message_edit(message_id=first.pk, editor=user, content="one")
    services.message_edit(message_id=second.pk, editor=user, content="two")

    chat.refresh_from_db()
    assert [m.version for m in Message.objects.order_by("seq")] == [1, 2]
    assert chat.last_version == 2


@pytest.mark.django_db
def test_message_edit_keeps_seq_and_created_at(user, chat):
    (message,) = add_messages(chat, user, 1)

    edited = services.message_edit(message_id=message.pk, editor=user, content="changed")

    assert (edited.seq, edited.created_at) == (message.seq, message.created_at)


def test_message_edit_with_same_text_changes_and_broadcasts_nothing(chat_events, user, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="same")
    chat_events.clear()

    again = services.message_edit(message_id=message.pk, editor=user, content="same")

    assert (again.edited_at, again.version, chat_events) == (None, 0, [])


@pytest.mark.django_db
def test_message_edit_raises_not_author_for_another_member(user, bob, chat):
    (message,) = add_messages(chat, bob, 1)

    with pytest.raises(NotMessageAuthorError):
        services.message_edit(message_id=message.pk, editor=user, content="mine now")


@pytest.mark.django_db
def test_message_edit_raises_not_author_for_group_owner(user, bob, team):
    (message,) = add_messages(team, bob, 1)

    with pytest.raises(NotMessageAuthorError):
        services.message_edit(message_id=message.pk, editor=user, content="moderated")


@pytest.mark.django_db
def test_message_edit_raises_not_found_for_outsider(user, bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    with pytest.raises(MessageNotFoundError):
        services.message_edit(message_id=message.pk, editor=user, content="x")


@pytest.mark.django_db
@pytest.mark.parametrize("message_id", [987654321, 0, -1, 2**63])
def test_message_edit_raises_not_found_for_missing_message(user, message_id):
    with pytest.raises(MessageNotFoundError):
        services.message_edit(message_id=message_id, editor=user, content="x")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "error"), [("   ", MessageEmptyError), ("x" * 4001, MessageTooLongError)]
)
def test_message_edit_applies_the_send_content_rules(user, chat, content, error):
    (message,) = add_messages(chat, user, 1)

    with pytest.raises(error):
        services.message_edit(message_id=message.pk, editor=user, content=content)

    message.refresh_from_db()
    assert message.edited_at is None


@pytest.mark.django_db
def test_message_edit_raises_deleted_for_a_tombstone(user, chat):
    (message,) = add_messages(chat, user, 1)
    services.message_delete(message_id=message.pk, actor=user)

    with pytest.raises(MessageDeletedError):
        services.message_edit(message_id=message.pk, editor=user, content="back")


# --- delete -------------------------------------------------------------------------------------------


def test_message_delete_broadcasts_message_deleted_with_id_chat_seq_and_version(chat_events, user, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="oops")
    chat_events.clear()

    services.message_delete(message_id=message.pk, actor=user)

    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (
            f"chat.{chat.pk}",
            "message_deleted",
            {"id": message.pk, "chat_id": chat.pk, "seq": 1, "version": 1},
        )
    ]


@pytest.mark.django_db
def test_message_delete_leaves_a_tombstone_in_place(user, chat):
    _first, second, _third = add_messages(chat, user, 3)

    services.message_delete(message_id=second.pk, actor=user)

    second.refresh_from_db()
    assert (second.seq, second.content, second.deleted_at is not None) == (2, "", True)
    assert stored_payload(second.pk)["deleted"] is True
    assert Message.objects.filter(chat=chat).count() == 3


@pytest.mark.django_db
def test_message_delete_removes_the_reactions(user, bob, chat):
    (message,) = add_messages(chat, user, 1)
    services.reaction_add(message_id=message.pk, user=bob, emoji="👍")

    services.message_delete(message_id=message.pk, actor=user)

    assert Reaction.objects.count() == 0
    assert stored_payload(message.pk)["reactions"] == []


def test_message_delete_twice_broadcasts_once(chat_events, user, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="oops")
    services.message_delete(message_id=message.pk, actor=user)
    chat_events.clear()

    again = services.message_delete(message_id=message.pk, actor=user)

    assert again.deleted_at is not None
    assert chat_events == []


@pytest.mark.django_db
@pytest.mark.parametrize("deleter", ["user", "carol"], ids=["owner", "admin"])
def test_message_delete_is_allowed_for_group_owner_and_admin(request, bob, team, deleter):
    (message,) = add_messages(team, bob, 1)

    deleted = services.message_delete(message_id=message.pk, actor=request.getfixturevalue(deleter))

    assert deleted.deleted_at is not None


@pytest.mark.django_db
def test_message_delete_raises_not_moderator_for_plain_group_member(bob, dave, team):
    (message,) = add_messages(team, bob, 1)

    with pytest.raises(NotMessageModeratorError):
        services.message_delete(message_id=message.pk, actor=dave)

    message.refresh_from_db()
    assert message.deleted_at is None


@pytest.mark.django_db
def test_message_delete_raises_not_moderator_for_other_member_of_private_chat(user, bob, chat):
    (message,) = add_messages(chat, bob, 1)

    with pytest.raises(NotMessageModeratorError):
        services.message_delete(message_id=message.pk, actor=user)


@pytest.mark.django_db
def test_message_delete_raises_not_found_for_outsider(user, bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    with pytest.raises(MessageNotFoundError):
        services.message_delete(message_id=message.pk, actor=user)


@pytest.mark.django_db
def test_message_delete_is_allowed_for_a_moderator_outside_the_chat(bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    deleted = services.message_delete(message_id=message.pk, actor=make_moderator())

    assert deleted.deleted_at is not None


@pytest.mark.django_db
def test_message_delete_raises_not_found_for_missing_message_even_for_a_moderator():
    with pytest.raises(MessageNotFoundError):
        services.message_delete(message_id=987654321, actor=make_moderator())


@pytest.mark.django_db
def test_reply_to_a_deleted_message_is_rejected(user, chat):
    (message,) = add_messages(chat, user, 1)
    services.message_delete(message_id=message.pk, actor=user)

    with pytest.raises(InvalidReplyError):
        services.message_send(chat_id=chat.pk, sender=user, content="re", reply_to=message.pk)


@pytest.mark.django_db
def test_reply_to_a_message_of_another_chat_is_rejected(user, bob, carol, chat):
    (elsewhere,) = add_messages(group_chat(user, carol), carol, 1)

    with pytest.raises(InvalidReplyError):
        services.message_send(chat_id=chat.pk, sender=user, content="re", reply_to=elsewhere.pk)


@pytest.mark.django_db
def test_reply_payload_names_the_message_it_answers(user, bob, chat):
    (first,) = add_messages(chat, bob, 1)

    reply = services.message_send(chat_id=chat.pk, sender=user, content="re", reply_to=first.pk)

    assert message_payload(reply)["reply_to"] == first.pk


# --- history and cursors with tombstones ----------------------------------------------------------


@pytest.mark.django_db
def test_history_cursors_step_over_tombstones_without_gaps(user, chat):
    messages = add_messages(chat, user, 5)
    services.message_delete(message_id=messages[2].pk, actor=user)

    older = selectors.message_history(chat_id=chat.pk, user=user, before_seq=5, limit=10)
    newer = selectors.messages_after(chat_id=chat.pk, user=user, after_seq=1, limit=10)

    assert [(m.seq, m.deleted_at is not None) for m in older] == [
        (4, False),
        (3, True),
        (2, False),
        (1, False),
    ]
    assert [m.seq for m in newer] == [2, 3, 4, 5]


@pytest.mark.django_db
def test_messages_after_is_not_cut_at_the_rest_page_size(user, chat):
    add_messages(chat, user, 150)

    messages = selectors.messages_after(chat_id=chat.pk, user=user, after_seq=0, limit=150)

    assert len(messages) == 150


# --- reactions -----------------------------------------------------------------------------------


def test_reaction_add_broadcasts_reaction_added_with_the_count(chat_events, user, bob, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="hi")
    services.reaction_add(message_id=message.pk, user=user, emoji="👍")
    chat_events.clear()

    services.reaction_add(message_id=message.pk, user=bob, emoji="👍")

    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (
            f"chat.{chat.pk}",
            "reaction_added",
            {
                "message_id": message.pk,
                "chat_id": chat.pk,
                "emoji": "👍",
                "user_id": bob.pk,
                "count": 2,
                "version": 2,
            },
        )
    ]


def test_reaction_add_twice_stores_one_and_broadcasts_once(chat_events, user, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="hi")
    chat_events.clear()

    services.reaction_add(message_id=message.pk, user=user, emoji="🎉")
    services.reaction_add(message_id=message.pk, user=user, emoji="🎉")

    assert Reaction.objects.count() == 1
    assert events_of(chat_events) == [(f"chat.{chat.pk}", "reaction_added")]


def test_reaction_remove_broadcasts_reaction_removed_with_the_new_count(chat_events, user, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="hi")
    services.reaction_add(message_id=message.pk, user=user, emoji="👍")
    chat_events.clear()

    services.reaction_remove(message_id=message.pk, user=user, emoji="👍")

    assert [(e.event, e.payload["count"], e.payload["user_id"]) for e in chat_events] == [
        ("reaction_removed", 0, user.pk)
    ]


def test_reaction_remove_of_absent_reaction_broadcasts_nothing(chat_events, user, chat):
    message = services.message_send(chat_id=chat.pk, sender=user, content="hi")
    chat_events.clear()

    services.reaction_remove(message_id=message.pk, user=user, emoji="👍")

    assert chat_events == []


@pytest.mark.django_db
@pytest.mark.parametrize("emoji", ["", " ", "👍 ", "a b", "x" * 33, "\x00", "\n", "\ud800"], ids=repr)
def test_reaction_add_rejects_bad_emoji(user, chat, emoji):
    (message,) = add_messages(chat, user, 1)

    with pytest.raises(InvalidEmojiError):
        services.reaction_add(message_id=message.pk, user=user, emoji=emoji)

    assert Reaction.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("emoji", ["👍", "👍🏽", "👨‍👩‍👧", "🇺🇦", "+1", "x" * 32])
def test_reaction_add_accepts_joined_and_modified_emoji(user, chat, emoji):
    (message,) = add_messages(chat, user, 1)

    services.reaction_add(message_id=message.pk, user=user, emoji=emoji)

    assert list(Reaction.objects.values_list("emoji", flat=True)) == [emoji]


@pytest.mark.django_db
def test_reaction_add_raises_not_found_for_outsider(user, bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    with pytest.raises(MessageNotFoundError):
        services.reaction_add(message_id=message.pk, user=user, emoji="👍")


@pytest.mark.django_db
def test_reaction_add_raises_deleted_for_a_tombstone(user, chat):
    (message,) = add_messages(chat, user, 1)
    services.message_delete(message_id=message.pk, actor=user)

    with pytest.raises(MessageDeletedError):
        services.reaction_add(message_id=message.pk, user=user, emoji="👍")


@pytest.mark.django_db
def test_reaction_counts_in_payload_are_first_chosen_first_and_shared(user, bob, chat):
    (message,) = add_messages(chat, user, 1)
    services.reaction_add(message_id=message.pk, user=bob, emoji="🎉")
    services.reaction_add(message_id=message.pk, user=user, emoji="👍")
    services.reaction_add(message_id=message.pk, user=bob, emoji="👍")

    payload = stored_payload(message.pk)

    assert payload["reactions"] == [{"emoji": "🎉", "count": 1}, {"emoji": "👍", "count": 2}]


@pytest.mark.django_db
def test_reactions_attach_marks_the_viewers_own(user, bob, chat):
    (message,) = add_messages(chat, user, 1)
    services.reaction_add(message_id=message.pk, user=bob, emoji="🎉")
    services.reaction_add(message_id=message.pk, user=user, emoji="👍")
    message.refresh_from_db()

    selectors.messages_load_details([message], viewer=user)

    assert message_payload(message)["reactions"] == [
        {"emoji": "🎉", "count": 1, "me": False},
        {"emoji": "👍", "count": 1, "me": True},
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_add_of_the_same_reaction_stores_one(user, bob):
    chat = private_chat(user, bob)
    (message,) = add_messages(chat, user, 1)

    results = run_in_threads(
        8, lambda i: services.reaction_add(message_id=message.pk, user=bob, emoji="👍").version
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert Reaction.objects.filter(message=message).count() == 1
    assert Chat.objects.get(pk=chat.pk).last_version == 1


# --- the change feed ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_messages_changed_returns_changes_after_the_version_in_change_order(user, bob, chat):
    first, second, third = add_messages(chat, user, 3)
    services.message_edit(message_id=second.pk, editor=user, content="v1")  # version 1
    services.reaction_add(message_id=first.pk, user=bob, emoji="👍")  # version 2
    services.message_delete(message_id=third.pk, actor=user)  # version 3
    services.message_edit(message_id=second.pk, editor=user, content="v2")  # version 4

    changed = selectors.messages_changed(chat_id=chat.pk, user=user, since_version=1)

    assert [(m.seq, m.version) for m in changed] == [(1, 2), (3, 3), (2, 4)]
    assert changed[2].content == "v2"


@pytest.mark.django_db
def test_messages_changed_is_empty_when_nothing_changed_since(user, chat):
    (message,) = add_messages(chat, user, 1)
    services.message_edit(message_id=message.pk, editor=user, content="v1")

    assert selectors.messages_changed(chat_id=chat.pk, user=user, since_version=1) == []


@pytest.mark.django_db
def test_messages_changed_raises_not_member_for_outsider(user, bob, carol):
    with pytest.raises(NotChatMemberError):
        selectors.messages_changed(chat_id=private_chat(bob, carol).pk, user=user, since_version=0)


@pytest.mark.django_db
def test_change_counter_keeps_rising_when_a_changed_message_is_hard_deleted(user, bob, chat):
    first, _second = add_messages(chat, bob, 2)
    services.message_edit(message_id=first.pk, editor=bob, content="edited")
    Message.objects.filter(pk=first.pk).delete()  # e.g. its sender's account was deleted

    services.reaction_add(message_id=_second.pk, user=user, emoji="👍")

    assert Message.objects.get(pk=_second.pk).version == 2


@pytest.mark.django_db
def test_message_edit_sets_edited_at_to_now(user, chat):
    (message,) = add_messages(chat, user, 1)
    before = timezone.now()

    edited = services.message_edit(message_id=message.pk, editor=user, content="later")

    assert edited.edited_at is not None
    assert edited.edited_at >= before
