"""The message admin as moderators use it: find messages, soft-delete them, never rewrite them."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.tests.admin_helpers import (
    action,
    client_for,
    make_moderator,
    make_plain_staff,
    plain_static_storage,  # noqa: F401 - autouse fixture
)
from accounts.tests.factories import UserFactory
from chats.tests.factories import add_messages, group_chat
from messaging.admin import DELETE_LOG_MESSAGE
from messaging.models import Message
from realtime.groups import chat_group

MESSAGES = "/admin/messaging/message/"
# Session, user, the user's and their groups' permissions; the table estimate; the count under a
# statement timeout (savepoint, SET LOCAL, COUNT, reset, release); the page of messages with senders
# and chats joined in; the date hierarchy's bounds and period probe under the same timeout (six).
# None of it depends on how many messages are listed.
CHANGELIST_QUERY_BUDGET = 17


def listed(response: Any) -> list[int]:
    return [message.pk for message in response.context["cl"].result_list]


def delete(client: Client, *messages: Message, follow: bool = False) -> Any:
    """Run "delete selected messages" and confirm it, as the confirmation page does."""
    return action(client, MESSAGES, "delete_selected", [m.pk for m in messages], follow=follow, post="yes")


def sent_at(message: Message, when: datetime) -> Message:
    Message.objects.filter(pk=message.pk).update(created_at=when)
    message.refresh_from_db()
    return message


def hierarchy_links(response: Any) -> list[str]:
    """The date hierarchy's links, as rendered."""
    nav = re.search(r'<nav class="toplinks">.*?</nav>', response.content.decode(), re.S)
    assert nav, "the change list has no date hierarchy"
    return [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]*)"', nav.group(0))]


@pytest.fixture
def chat(user, bob):
    return group_chat(user, bob, name="Book club")


# --- change list ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_message_changelist_search_by_content_finds_the_message(chat, user):
    [wanted] = add_messages(chat, user, 1, text="the secret password is swordfish")
    add_messages(chat, user, 2, text="nothing to see")

    response = client_for(make_moderator()).get(MESSAGES, {"q": "swordfish"})

    assert listed(response) == [wanted.pk]


@pytest.mark.django_db
def test_message_changelist_search_by_sender_email_finds_their_messages(chat, user, bob):
    theirs = add_messages(chat, bob, 2)
    add_messages(chat, user, 2)

    response = client_for(make_moderator()).get(MESSAGES, {"q": bob.email})

    assert sorted(listed(response)) == sorted(m.pk for m in theirs)


@pytest.mark.django_db
def test_message_changelist_search_by_sender_username_finds_their_messages(chat, user, bob):
    theirs = add_messages(chat, bob, 2)
    add_messages(chat, user, 2)

    response = client_for(make_moderator()).get(MESSAGES, {"q": "bob"})

    assert sorted(listed(response)) == sorted(m.pk for m in theirs)


@pytest.mark.django_db
def test_message_changelist_search_by_chat_name_finds_its_messages(chat, user, bob):
    wanted = add_messages(chat, user, 2)
    add_messages(group_chat(user, name="Other"), user, 2)

    response = client_for(make_moderator()).get(MESSAGES, {"q": "book club"})

    assert sorted(listed(response)) == sorted(m.pk for m in wanted)


@pytest.mark.django_db
def test_message_changelist_search_by_chat_id_finds_its_messages(chat, user):
    wanted = add_messages(chat, user, 2)
    add_messages(group_chat(user, name="Other"), user, 2)

    response = client_for(make_moderator()).get(MESSAGES, {"q": str(chat.pk)})

    # A number is a chat id or a message id: the other chat's message with that id may match too.
    ids = {m.pk for m in wanted}
    assert ids <= set(listed(response)) <= ids | {chat.pk}


@pytest.mark.django_db
def test_message_changelist_deleted_filter_yes_lists_only_deleted_messages(chat, user):
    gone, _kept = add_messages(chat, user, 2)
    client = client_for(make_moderator())
    delete(client, gone)

    response = client.get(MESSAGES, {"deleted": "yes"})

    assert listed(response) == [gone.pk]


@pytest.mark.django_db
def test_message_changelist_deleted_filter_no_hides_deleted_messages(chat, user):
    gone, kept = add_messages(chat, user, 2)
    client = client_for(make_moderator())
    delete(client, gone)

    response = client.get(MESSAGES, {"deleted": "no"})

    assert listed(response) == [kept.pk]


@pytest.mark.django_db
def test_message_changelist_date_hierarchy_offers_each_year_with_messages(chat, user):
    old, new = add_messages(chat, user, 2)
    sent_at(old, datetime(2024, 3, 5, 12, tzinfo=UTC))
    sent_at(new, datetime(2026, 7, 1, 12, tzinfo=UTC))

    response = client_for(make_moderator()).get(MESSAGES)

    assert hierarchy_links(response) == ["?created_at__year=2024", "?created_at__year=2026"]


@pytest.mark.django_db
def test_message_changelist_date_hierarchy_month_offers_only_days_with_messages(chat, user):
    first, second, other_month = add_messages(chat, user, 3)
    sent_at(first, datetime(2024, 3, 5, 12, tzinfo=UTC))
    sent_at(second, datetime(2024, 3, 20, 12, tzinfo=UTC))
    sent_at(other_month, datetime(2024, 4, 1, 12, tzinfo=UTC))

    response = client_for(make_moderator()).get(MESSAGES, {"created_at__year": 2024, "created_at__month": 3})

    assert hierarchy_links(response) == [
        "?created_at__year=2024",
        "?created_at__day=5&created_at__month=3&created_at__year=2024",
        "?created_at__day=20&created_at__month=3&created_at__year=2024",
    ]
    assert sorted(listed(response)) == sorted([first.pk, second.pk])


@pytest.mark.django_db
def test_message_changelist_date_hierarchy_day_lists_that_days_messages(chat, user):
    wanted, other_day = add_messages(chat, user, 2)
    sent_at(wanted, datetime(2024, 3, 5, 12, tzinfo=UTC))
    sent_at(other_day, datetime(2024, 3, 6, 12, tzinfo=UTC))

    response = client_for(make_moderator()).get(
        MESSAGES, {"created_at__year": 2024, "created_at__month": 3, "created_at__day": 5}
    )

    assert listed(response) == [wanted.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_message_changelist_queries_stay_within_budget_whatever_the_row_count(
    rows, chat, user, bob, django_assert_max_num_queries
):
    # Senders and chats vary, so a missing join would cost a query per distinct row.
    senders = [user, bob, *UserFactory.create_batch(3)]
    for i in range(rows):
        add_messages(chat if i % 2 else group_chat(user, name=f"Chat {i}"), senders[i % len(senders)], 1)
    client = client_for(make_moderator())

    with django_assert_max_num_queries(CHANGELIST_QUERY_BUDGET):
        response = client.get(MESSAGES)

    assert len(response.context["cl"].result_list) == rows


# --- "delete selected messages" ---------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_action_shows_a_confirmation_page_before_deleting(chat, user):
    [message] = add_messages(chat, user, 1, text="still here")

    response = action(client_for(make_moderator()), MESSAGES, "delete_selected", [message.pk])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/messaging/message/soft_delete_confirmation.html"
    message.refresh_from_db()
    assert (message.content, message.deleted_at) == ("still here 1", None)


@pytest.mark.django_db
def test_delete_action_erases_the_content_and_keeps_the_row(chat, user):
    [message] = add_messages(chat, user, 1, text="rude words")

    response = delete(client_for(make_moderator()), message, follow=True)

    assert response.status_code == 200
    assert "Deleted 1 message(s)." in [str(m) for m in response.context["messages"]]
    message.refresh_from_db()
    assert message.content == ""
    assert message.deleted_at is not None
    assert message.seq == 1


@pytest.mark.django_db
def test_delete_action_leaves_unselected_messages_alone(chat, user):
    gone, kept = add_messages(chat, user, 2)

    delete(client_for(make_moderator()), gone)

    kept.refresh_from_db()
    assert (kept.content, kept.deleted_at) == ("message 2", None)


def test_delete_action_broadcasts_message_deleted_to_the_chat(chat_events, chat, user):
    [message] = add_messages(chat, user, 1)

    delete(client_for(make_moderator()), message)

    message.refresh_from_db()
    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (
            chat_group(chat.pk),
            "message_deleted",
            {"id": message.pk, "chat_id": chat.pk, "seq": message.seq, "version": message.version},
        )
    ]


def test_delete_action_on_an_already_deleted_message_broadcasts_nothing(chat_events, chat, user):
    [message] = add_messages(chat, user, 1)
    client = client_for(make_moderator())
    delete(client, message)
    chat_events.clear()

    delete(client, message)

    assert chat_events == []


@pytest.mark.django_db
def test_deleted_message_is_a_tombstone_in_history(chat, user, bob, make_client):
    before, message, after = add_messages(chat, user, 3, text="hello")
    delete(client_for(make_moderator()), message)

    response = make_client(bob).get("/api/messages/get", {"chat_id": chat.pk})

    history = {m["id"]: m for m in response.json()["messages"]}
    assert response.status_code == 200
    assert sorted(history) == sorted([before.pk, message.pk, after.pk])
    assert (history[message.pk]["deleted"], history[message.pk]["content"]) == (True, "")
    assert (history[before.pk]["deleted"], history[before.pk]["content"]) == (False, "hello 1")


@pytest.mark.django_db
def test_delete_action_is_written_to_the_admin_log_with_who_what_and_when(chat, user):
    first, second = add_messages(chat, user, 2)
    moderator = make_moderator()

    delete(client_for(moderator), first, second)

    # object_id is text: order by its number, or "100" sorts before "99".
    entries = sorted(LogEntry.objects.filter(content_type__model="message"), key=lambda e: int(e.object_id))
    assert [(e.object_id, e.user_id, e.action_flag) for e in entries] == [
        (str(first.pk), moderator.pk, DELETION),
        (str(second.pk), moderator.pk, DELETION),
    ]
    assert all(e.get_change_message() == DELETE_LOG_MESSAGE and e.action_time for e in entries)


@pytest.mark.django_db
def test_single_message_delete_page_soft_deletes(chat, user):
    [message] = add_messages(chat, user, 1)

    response = client_for(make_moderator()).post(f"{MESSAGES}{message.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.content, message.deleted_at is not None) == ("", True)


@pytest.mark.django_db
def test_single_message_delete_page_writes_the_admin_log(chat, user):
    [message] = add_messages(chat, user, 1)
    moderator = make_moderator()

    client_for(moderator).post(f"{MESSAGES}{message.pk}/delete/", {"post": "yes"})

    entry = LogEntry.objects.get(content_type__model="message", object_id=str(message.pk))
    assert (entry.user_id, entry.action_flag) == (moderator.pk, DELETION)


# --- read-only content ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_message_page_shows_the_content_read_only(chat, user):
    [message] = add_messages(chat, user, 1, text="as said")

    response = client_for(make_moderator()).get(f"{MESSAGES}{message.pk}/change/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "as said 1" in body
    assert 'name="content"' not in body
    assert 'name="_save"' not in body


@pytest.mark.django_db
def test_message_content_cannot_be_rewritten_through_the_change_form(chat, user):
    [message] = add_messages(chat, user, 1, text="as said")

    response = client_for(make_moderator()).post(
        f"{MESSAGES}{message.pk}/change/", {"content": "never said", "_save": "Save"}
    )

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.content == "as said 1"


@pytest.mark.django_db
def test_message_content_cannot_be_rewritten_even_by_a_superuser(chat, user):
    [message] = add_messages(chat, user, 1, text="as said")
    superuser = UserFactory(is_staff=True, is_superuser=True)

    response = client_for(superuser).post(
        f"{MESSAGES}{message.pk}/change/", {"content": "never said", "_save": "Save"}
    )

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.content == "as said 1"


@pytest.mark.django_db
def test_messages_cannot_be_added_in_the_admin():
    response = client_for(make_moderator()).get(f"{MESSAGES}add/")

    assert response.status_code == 403


# --- staff without the Moderators group ------------------------------------------------------------


@pytest.mark.django_db
def test_staff_without_group_cannot_delete_messages(chat, user):
    [message] = add_messages(chat, user, 1)

    response = delete(client_for(make_plain_staff()), message)

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.deleted_at is None


@pytest.mark.django_db
def test_staff_without_group_cannot_open_the_delete_page(chat, user):
    [message] = add_messages(chat, user, 1)

    response = client_for(make_plain_staff()).post(f"{MESSAGES}{message.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.deleted_at is None


@pytest.mark.django_db
def test_delete_action_is_not_offered_without_delete_permission(chat, user):
    viewer = make_plain_staff()
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    [message] = add_messages(chat, user, 1)
    client = client_for(viewer)

    listing = client.get(MESSAGES)
    response = delete(client, message)

    assert listing.status_code == 200
    assert 'value="delete_selected"' not in listing.content.decode()
    assert response.status_code != 500
    message.refresh_from_db()
    assert message.deleted_at is None
