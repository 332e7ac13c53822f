"""The chat admin as moderators use it: find chats, and change members through the inlines."""

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.tests.admin_helpers import (
    client_for,
    make_moderator,
    make_plain_staff,
    plain_static_storage,  # noqa: F401 - autouse fixture
)
from accounts.tests.factories import UserFactory
from chats import services
from chats.models import Chat, ChatMember
from chats.tests.factories import group_chat, private_chat
from messaging.services import message_send
from realtime.groups import chat_group, user_group
from realtime.tests.wsclient import open_socket

CHATS = "/admin/chats/chat/"
# The two inlines on ChatMember: existing members, then the empty "add members" rows.
MEMBERS = "memberships"
ADD = "memberships-2"
# Session, user, the user's and their groups' permissions, the paginator's count and the page of chats
# (creators joined in): none of it depends on how many chats are listed.
CHANGELIST_QUERY_BUDGET = 6


def change_url(chat: Chat) -> str:
    return f"{CHATS}{chat.pk}/change/"


def form_data(client: Client, chat: Chat) -> dict[str, Any]:
    """The chat's change form as the page renders it, ready to POST back with edits."""
    response = client.get(change_url(chat))
    assert response.status_code == 200
    data: dict[str, Any] = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            for name in form.fields:
                value = form[name].value()
                if value is not None and value is not False:
                    data[form.add_prefix(name)] = value
    return data


def member_index(data: dict[str, Any], membership: ChatMember) -> int:
    """The position of `membership` in the existing-members inline of `data`."""
    for key, value in data.items():
        if key.startswith(f"{MEMBERS}-") and key.endswith("-id") and value == membership.pk:
            return int(key.split("-")[1])
    raise AssertionError(f"membership {membership.pk} is not on the page")


def save(client: Client, chat: Chat, data: dict[str, Any]) -> Any:
    return client.post(change_url(chat), {**data, "_save": "Save"})


def remove(client: Client, chat: Chat, user: Any) -> Any:
    data = form_data(client, chat)
    index = member_index(data, ChatMember.objects.get(chat=chat, user=user))
    return save(client, chat, {**data, f"{MEMBERS}-{index}-DELETE": "on"})


def add(client: Client, chat: Chat, user: Any, role: str = "member") -> Any:
    data = form_data(client, chat)
    return save(client, chat, {**data, f"{ADD}-0-user": user.pk, f"{ADD}-0-role": role})


def set_role(client: Client, chat: Chat, user: Any, role: str) -> Any:
    data = form_data(client, chat)
    index = member_index(data, ChatMember.objects.get(chat=chat, user=user))
    return save(client, chat, {**data, f"{MEMBERS}-{index}-role": role})


def roles(chat: Chat) -> dict[int, str]:
    return dict(ChatMember.objects.filter(chat=chat).values_list("user_id", "role"))


def listed(response: Any) -> list[int]:
    return [chat.pk for chat in response.context["cl"].result_list]


# --- change list ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_chat_changelist_search_by_name_finds_the_group(user):
    wanted = group_chat(user, name="Gardening club")
    group_chat(user, name="Chess")

    response = client_for(make_moderator()).get(CHATS, {"q": "garden"})

    assert listed(response) == [wanted.pk]


@pytest.mark.django_db
def test_chat_changelist_search_by_member_email_finds_their_chats(user, bob, carol):
    ivan = UserFactory(email="ivan@example.org")
    group = group_chat(user, ivan, name="Team")
    private = private_chat(ivan, bob)
    group_chat(user, carol, name="Other team")

    response = client_for(make_moderator()).get(CHATS, {"q": "ivan@example.org"})

    assert sorted(listed(response)) == sorted([group.pk, private.pk])


@pytest.mark.django_db
def test_chat_changelist_search_by_member_lists_each_chat_once_when_several_members_match(user):
    members = [UserFactory(email=f"same{i}@example.net") for i in range(3)]
    chat = group_chat(user, *members)

    response = client_for(make_moderator()).get(CHATS, {"q": "@example.net"})

    assert listed(response) == [chat.pk]


@pytest.mark.django_db
def test_chat_changelist_filter_by_type_lists_only_groups(user, bob):
    group = group_chat(user, bob)
    private_chat(user, bob)

    response = client_for(make_moderator()).get(CHATS, {"type__exact": "group"})

    assert listed(response) == [group.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [5, 50])
def test_chat_changelist_queries_stay_within_budget_whatever_the_row_count(
    rows, user, bob, django_assert_max_num_queries
):
    for i in range(rows):
        group_chat(user, bob, name=f"Group {i}")
    client = client_for(make_moderator())

    with django_assert_max_num_queries(CHANGELIST_QUERY_BUDGET):
        response = client.get(CHATS)

    assert len(response.context["cl"].result_list) == rows


# --- member inline: remove ------------------------------------------------------------------------


@pytest.mark.django_db
def test_member_inline_remove_deletes_the_membership(user, bob, carol):
    chat = group_chat(user, bob, carol)

    response = remove(client_for(make_moderator()), chat, bob)

    assert response.status_code == 302
    assert roles(chat) == {user.pk: "owner", carol.pk: "member"}


def test_member_inline_remove_broadcasts_member_removed(chat_events, user, bob):
    chat = group_chat(user, bob)

    remove(client_for(make_moderator()), chat, bob)

    event = {"chat_id": chat.pk, "user_id": bob.pk}
    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (chat_group(chat.pk), "member_removed", event),
        (user_group(bob.pk), "member_removed", event),
    ]


@pytest.mark.django_db
def test_member_inline_remove_of_the_owner_hands_ownership_over(user, bob, carol):
    chat = group_chat(user, carol, admins=(bob,))

    remove(client_for(make_moderator()), chat, user)

    assert roles(chat) == {bob.pk: "owner", carol.pk: "member"}


@pytest.mark.django_db
def test_private_chat_page_offers_no_member_removal(user, bob):
    chat = private_chat(user, bob)

    response = client_for(make_moderator()).get(change_url(chat))

    assert response.status_code == 200
    assert "-DELETE" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_member_inline_remove_unsubscribes_the_removed_members_socket():
    owner, leaver, staying = [await database_sync_to_async(UserFactory)() for _ in range(3)]
    chat = await database_sync_to_async(group_chat)(owner, leaver, staying)
    leaver_socket, _, _ = await open_socket(leaver)
    staying_socket, _, _ = await open_socket(staying)

    await database_sync_to_async(lambda: remove(client_for(make_moderator()), chat, leaver))()
    removed = await leaver_socket.recv()
    assert (await staying_socket.recv())["type"] == "member_removed"
    await database_sync_to_async(message_send)(chat_id=chat.pk, sender=owner, content="after removal")
    # The staying member's copy shows the broadcast has been delivered to the chat's group.
    delivered = await staying_socket.recv()

    assert removed == {"type": "member_removed", "payload": {"chat_id": chat.pk, "user_id": leaver.pk}}
    assert delivered["type"] == "new_message"
    assert await leaver_socket.nothing(0.5)
    await leaver_socket.close()
    await staying_socket.close()


# --- member inline: add, change role ---------------------------------------------------------------


@pytest.mark.django_db
def test_member_inline_add_creates_a_member(user, bob):
    chat = group_chat(user)

    response = add(client_for(make_moderator()), chat, bob)

    assert response.status_code == 302
    assert roles(chat) == {user.pk: "owner", bob.pk: "member"}


@pytest.mark.django_db
def test_member_inline_add_as_admin_gives_the_admin_role(user, bob):
    chat = group_chat(user)

    add(client_for(make_moderator()), chat, bob, role="admin")

    assert roles(chat)[bob.pk] == "admin"


def test_member_inline_add_broadcasts_member_added(chat_events, user, bob):
    chat = group_chat(user)

    add(client_for(make_moderator()), chat, bob)

    assert [(e.group, e.event, e.payload["user_id"]) for e in chat_events] == [
        (chat_group(chat.pk), "member_added", bob.pk),
        (user_group(bob.pk), "member_added", bob.pk),
    ]


@pytest.mark.django_db
def test_member_inline_add_of_a_banned_user_is_refused(user):
    chat = group_chat(user)
    banned = UserFactory(is_active=False)

    response = add(client_for(make_moderator()), chat, banned)

    assert response.status_code == 200
    assert response.context["errors"]
    assert banned.pk not in roles(chat)


@pytest.mark.django_db
def test_member_inline_role_change_updates_the_membership(user, bob):
    chat = group_chat(user, bob)

    response = set_role(client_for(make_moderator()), chat, bob, "admin")

    assert response.status_code == 302
    assert roles(chat) == {user.pk: "owner", bob.pk: "admin"}


def test_member_inline_role_change_broadcasts_member_updated(chat_events, user, bob):
    chat = group_chat(user, bob)

    set_role(client_for(make_moderator()), chat, bob, "admin")

    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (chat_group(chat.pk), "member_updated", {"chat_id": chat.pk, "user_id": bob.pk, "role": "admin"})
    ]


@pytest.mark.django_db
def test_member_inline_making_a_member_owner_makes_the_old_owner_admin(user, bob):
    chat = group_chat(user, bob)

    set_role(client_for(make_moderator()), chat, bob, "owner")

    assert roles(chat) == {user.pk: "admin", bob.pk: "owner"}


@pytest.mark.django_db
def test_member_inline_lowering_the_owner_alone_is_refused(user, bob):
    chat = group_chat(user, bob)

    response = set_role(client_for(make_moderator()), chat, user, "member")

    errors = response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert response.status_code == 200
    assert errors == ["The owner's role cannot be lowered: make another member the owner instead."]
    assert roles(chat) == {user.pk: "owner", bob.pk: "member"}


@pytest.mark.django_db
def test_member_inline_add_of_an_existing_member_is_refused(user, bob):
    chat = group_chat(user, bob)

    response = add(client_for(make_moderator()), chat, bob, role="admin")

    errors = response.context["inline_admin_formsets"][1].formset.non_form_errors()
    assert response.status_code == 200
    assert errors == [f"Already a member: {bob.email}. Change their role in the members list instead."]
    assert roles(chat) == {user.pk: "owner", bob.pk: "member"}
    assert not LogEntry.objects.filter(content_type__model="chat").exists()


@pytest.mark.django_db
def test_member_inline_add_of_the_same_user_twice_is_refused(user, bob):
    chat = group_chat(user)
    client = client_for(make_moderator())
    data = form_data(client, chat)

    response = save(
        client,
        chat,
        {
            **data,
            f"{ADD}-TOTAL_FORMS": 2,
            f"{ADD}-0-user": bob.pk,
            f"{ADD}-0-role": "member",
            f"{ADD}-1-user": bob.pk,
            f"{ADD}-1-role": "admin",
        },
    )

    assert response.status_code == 200
    assert roles(chat) == {user.pk: "owner"}


def test_member_inline_save_refused_by_a_service_rolls_every_change_back(chat_events, user, bob, carol):
    chat = group_chat(user, bob, carol)
    client = client_for(make_moderator())
    data = form_data(client, chat)
    bob_index = member_index(data, ChatMember.objects.get(chat=chat, user=bob))
    carol_index = member_index(data, ChatMember.objects.get(chat=chat, user=carol))
    # Bob leaves through the API while the moderator's form is open.
    services.member_remove(chat_id=chat.pk, actor=bob, user_id=bob.pk)
    chat_events.clear()

    response = save(
        client,
        chat,
        {**data, f"{MEMBERS}-{carol_index}-role": "admin", f"{MEMBERS}-{bob_index}-DELETE": "on"},
    )

    assert response.status_code == 302
    assert roles(chat) == {user.pk: "owner", carol.pk: "member"}
    assert chat_events == []
    assert not LogEntry.objects.filter(content_type__model="chat").exists()


# --- admin log -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_member_inline_changes_are_written_to_the_admin_log_with_who_what_and_when(user, bob, carol):
    chat = group_chat(user, bob)
    moderator = make_moderator()
    client = client_for(moderator)
    data = form_data(client, chat)
    index = member_index(data, ChatMember.objects.get(chat=chat, user=bob))

    save(client, chat, {**data, f"{MEMBERS}-{index}-DELETE": "on", f"{ADD}-0-user": carol.pk})

    entry = LogEntry.objects.get(content_type__model="chat", object_id=str(chat.pk))
    assert (entry.user_id, entry.action_flag) == (moderator.pk, CHANGE)
    assert entry.action_time is not None
    message = entry.get_change_message()
    assert f"Deleted member “{bob.email}”" in message
    assert f"Added member “{carol.email} (member)”" in message


@pytest.mark.django_db
def test_refused_member_change_writes_nothing_to_the_admin_log(user, bob):
    chat = group_chat(user, bob)

    set_role(client_for(make_moderator()), chat, user, "member")

    assert not LogEntry.objects.filter(content_type__model="chat").exists()


# --- staff without the Moderators group ------------------------------------------------------------


@pytest.mark.django_db
def test_staff_without_group_cannot_remove_a_member(user, bob):
    chat = group_chat(user, bob)
    membership = ChatMember.objects.get(chat=chat, user=bob)
    data = {
        f"{MEMBERS}-TOTAL_FORMS": 2,
        f"{MEMBERS}-INITIAL_FORMS": 2,
        f"{MEMBERS}-1-id": membership.pk,
        f"{MEMBERS}-1-chat": chat.pk,
        f"{MEMBERS}-1-DELETE": "on",
    }

    response = save(client_for(make_plain_staff()), chat, data)

    assert response.status_code == 403
    assert bob.pk in roles(chat)


@pytest.mark.django_db
def test_chat_viewer_without_change_permission_gets_a_read_only_page(user, bob):
    viewer = make_plain_staff()
    viewer.user_permissions.add(Permission.objects.get(codename="view_chat"))
    chat = group_chat(user, bob)

    response = client_for(viewer).get(change_url(chat))

    body = response.content.decode()
    assert response.status_code == 200
    assert "-DELETE" not in body
    assert 'name="_save"' not in body


@pytest.mark.django_db
def test_chat_viewer_without_change_permission_cannot_remove_a_member(user, bob):
    viewer = make_plain_staff()
    viewer.user_permissions.add(Permission.objects.get(codename="view_chat"))
    chat = group_chat(user, bob)
    membership = ChatMember.objects.get(chat=chat, user=bob)
    data = {
        f"{MEMBERS}-TOTAL_FORMS": 2,
        f"{MEMBERS}-INITIAL_FORMS": 2,
        f"{MEMBERS}-1-id": membership.pk,
        f"{MEMBERS}-1-chat": chat.pk,
        f"{MEMBERS}-1-DELETE": "on",
    }

    response = save(client_for(viewer), chat, data)

    assert response.status_code == 403
    assert bob.pk in roles(chat)
