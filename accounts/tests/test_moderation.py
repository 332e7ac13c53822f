"""Moderation of users in the admin: the Moderators group, ban and unban, the audit log, permissions."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.admin_helpers import (
    MODERATORS,
    action,
    client_for,
    make_moderator,
    make_plain_staff,
    make_superuser,
    plain_static_storage,  # noqa: F401 - autouse fixture
)
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from chats.tests.factories import add_messages, group_chat
from realtime.groups import user_group

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"
LOG = "/admin/admin/logentry/"

EXPECTED_MODERATOR_PERMISSIONS = {
    "accounts.view_user",
    "accounts.ban_user",
    "chats.view_chat",
    "chats.change_chat",
    "chats.view_chatmember",
    "chats.add_chatmember",
    "chats.change_chatmember",
    "chats.delete_chatmember",
    "messaging.view_message",
    "messaging.delete_message",
    "admin.view_logentry",
}


def ban(client, *users):
    return action(client, USERS, "deactivate_users", [u.pk for u in users], follow=True)


# --- the group ----------------------------------------------------------------------------------------


def test_moderators_group_has_exactly_the_moderation_permissions():
    group = Group.objects.get(name=MODERATORS)

    granted = {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }

    assert granted == EXPECTED_MODERATOR_PERMISSIONS


def test_moderator_holds_ban_permission_but_not_change_user():
    moderator = make_moderator()

    assert moderator.has_perm("accounts.ban_user")
    assert not moderator.has_perm("accounts.change_user")


# --- ban -------------------------------------------------------------------------------------------


def test_ban_deactivates_user_and_blacklists_every_outstanding_refresh_token():
    target = UserFactory()
    tokens = [RefreshToken.for_user(target) for _ in range(3)]

    response = ban(client_for(make_moderator()), target)

    assert response.status_code == 200
    target.refresh_from_db()
    assert target.is_active is False
    assert BlacklistedToken.objects.filter(token__jti__in=[t["jti"] for t in tokens]).count() == 3


def test_ban_leaves_unselected_users_active():
    target, bystander = UserFactory(), UserFactory()

    ban(client_for(make_moderator()), target)

    bystander.refresh_from_db()
    assert bystander.is_active is True


def test_banned_user_login_fails_with_403_account_disabled():
    target = UserFactory(email="banned@example.com")
    ban(client_for(make_moderator()), target)

    response = APIClient().post(
        "/api/login", {"email": "banned@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {"error": "account disabled", "code": "account_disabled"}


def test_banned_user_refresh_fails():
    target = UserFactory()
    refresh = str(RefreshToken.for_user(target))
    ban(client_for(make_moderator()), target)

    response = APIClient().post("/api/refresh", {"refresh_token": refresh}, format="json")

    assert response.status_code in (401, 403)


def test_banned_user_access_token_is_refused():
    target = UserFactory()
    access = str(RefreshToken.for_user(target).access_token)
    ban(client_for(make_moderator()), target)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json()["code"] == "account_disabled"


def test_ban_broadcasts_account_disabled_to_the_users_sockets(chat_events):
    target = UserFactory()

    ban(client_for(make_moderator()), target)

    assert [(e.group, e.event) for e in chat_events] == [(user_group(target.pk), "account_disabled")]


def test_ban_is_written_to_the_admin_log_with_who_and_when():
    moderator, target = make_moderator(), UserFactory()

    ban(client_for(moderator), target)

    entry = LogEntry.objects.get(object_id=str(target.pk), content_type__model="user")
    assert entry.user_id == moderator.pk
    assert entry.action_flag == CHANGE
    assert entry.get_change_message().startswith("Banned")
    assert entry.action_time is not None


def test_unban_reactivates_user_and_logs_it():
    moderator, target = make_moderator(), UserFactory(is_active=False)

    action(client_for(moderator), USERS, "reactivate_users", [target.pk])

    target.refresh_from_db()
    assert target.is_active is True
    assert LogEntry.objects.filter(object_id=str(target.pk), change_message__startswith="Unbanned").exists()


def test_moderator_ban_skips_staff_accounts():
    other_staff = make_plain_staff()

    ban(client_for(make_moderator()), other_staff)

    other_staff.refresh_from_db()
    assert other_staff.is_active is True


def test_moderator_ban_skips_own_account():
    moderator = make_moderator()

    ban(client_for(moderator), moderator)

    moderator.refresh_from_db()
    assert moderator.is_active is True


def test_superuser_ban_reaches_staff_accounts():
    other_staff = make_plain_staff()

    ban(client_for(make_superuser()), other_staff)

    other_staff.refresh_from_db()
    assert other_staff.is_active is False


def test_unticking_active_on_change_form_bans_through_the_service(chat_events):
    superuser, target = make_superuser(), UserFactory(email="form@example.com", username="form")
    token = RefreshToken.for_user(target)

    response = client_for(superuser).post(
        f"{USERS}{target.pk}/change/",
        {
            "email": "form@example.com",
            "username": "form",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_active is False
    assert BlacklistedToken.objects.filter(token__jti=token["jti"]).exists()
    assert (user_group(target.pk), "account_disabled") in [(e.group, e.event) for e in chat_events]


# --- what moderators see ---------------------------------------------------------------------------


def test_user_page_shows_the_users_chats_and_message_count():
    target, other = UserFactory(), UserFactory()
    chat = group_chat(other, target, name="Book club")
    add_messages(chat, target, 3)

    response = client_for(make_moderator()).get(f"{USERS}{target.pk}/change/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Book club" in body
    assert f"/admin/chats/chat/{chat.pk}/change/" in body
    assert f'?sender__id__exact={target.pk}">3</a>' in body


def test_user_page_hides_password_hash_from_moderators():
    target = UserFactory()

    response = client_for(make_moderator()).get(f"{USERS}{target.pk}/change/")

    assert target.password not in response.content.decode()


def test_moderator_cannot_edit_a_user():
    target = UserFactory(email="keep@example.com", username="keep")

    response = client_for(make_moderator()).post(
        f"{USERS}{target.pk}/change/", {"email": "changed@example.com", "username": "keep", "is_staff": "on"}
    )

    assert response.status_code == 403
    target.refresh_from_db()
    assert (target.email, target.is_staff) == ("keep@example.com", False)


def test_moderator_cannot_set_a_users_password():
    target = UserFactory()

    response = client_for(make_moderator()).get(f"{USERS}{target.pk}/password/")

    assert response.status_code == 403


def test_user_changelist_search_by_email_finds_the_user():
    UserFactory(email="needle@example.com")
    UserFactory(email="hay@example.com")

    response = client_for(make_moderator()).get(USERS, {"q": "needle@"})

    assert [u.email for u in response.context["cl"].result_list] == ["needle@example.com"]


def test_user_changelist_filters_by_date_joined():
    UserFactory(email="old@example.com", date_joined=datetime(2020, 5, 1, tzinfo=UTC))
    UserFactory(email="new@example.com", date_joined=datetime(2026, 5, 1, tzinfo=UTC))

    response = client_for(make_superuser(date_joined=datetime(2019, 1, 1, tzinfo=UTC))).get(
        USERS,
        {"date_joined__gte": "2026-01-01 00:00:00+00:00", "date_joined__lt": "2027-01-01 00:00:00+00:00"},
    )

    assert [u.email for u in response.context["cl"].result_list] == ["new@example.com"]


def test_user_changelist_renders_in_bounded_queries(django_assert_max_num_queries):
    User.objects.bulk_create(
        User(email=f"bulk{i}@example.com", username=f"bulk{i}", password="!") for i in range(300)
    )
    client = client_for(make_moderator())

    with django_assert_max_num_queries(8):
        response = client.get(USERS)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 100


@pytest.mark.parametrize("rows", [5, 50])
def test_user_changelist_queries_stay_within_budget_whatever_the_row_count(
    rows, django_assert_max_num_queries
):
    User.objects.bulk_create(
        User(email=f"row{i}@example.com", username=f"row{i}", password="!") for i in range(rows)
    )
    client = client_for(make_moderator())

    # Session, user, the user's and their groups' permissions, the count and the page.
    with django_assert_max_num_queries(6):
        response = client.get(USERS)

    assert len(response.context["cl"].result_list) == rows + 1  # and the moderator


# --- audit log -------------------------------------------------------------------------------------


def test_moderator_can_browse_the_admin_log():
    moderator, target = make_moderator(), UserFactory(email="logged@example.com")
    client = client_for(moderator)
    ban(client, target)

    response = client.get(LOG)

    assert response.status_code == 200
    assert "logged@example.com" in response.content.decode()


def test_admin_log_cannot_be_edited_or_deleted_even_by_superusers():
    superuser = make_superuser()
    client = client_for(superuser)
    ban(client, UserFactory())
    entry = LogEntry.objects.latest("action_time")

    change = client.post(f"{LOG}{entry.pk}/change/", {"change_message": "nothing happened"})
    delete = client.post(f"{LOG}{entry.pk}/delete/", {"post": "yes"})

    assert change.status_code == 403
    assert delete.status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk, change_message__startswith="Banned").exists()


def test_admin_log_changelist_renders_in_bounded_queries(django_assert_max_num_queries):
    moderator = make_moderator()
    client = client_for(moderator)
    targets = UserFactory.create_batch(30)
    ban(client, *targets)

    with django_assert_max_num_queries(8):
        response = client.get(LOG)

    assert response.status_code == 200


# --- staff without the group ------------------------------------------------------------------------


def test_staff_without_group_sees_no_models_on_admin_index():
    response = client_for(make_plain_staff()).get("/admin/")

    assert response.status_code == 200
    assert response.context["app_list"] == []


@pytest.mark.parametrize(
    "url",
    [USERS, "/admin/chats/chat/", "/admin/messaging/message/", LOG],
    ids=["users", "chats", "messages", "log"],
)
def test_staff_without_group_is_refused_every_moderation_page(url):
    response = client_for(make_plain_staff()).get(url)

    assert response.status_code == 403


def test_staff_without_group_cannot_ban():
    target = UserFactory()

    response = action(client_for(make_plain_staff()), USERS, "deactivate_users", [target.pk])

    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active is True


def test_ban_action_is_not_offered_without_ban_permission():
    viewer = make_plain_staff()
    viewer.user_permissions.add(*Group.objects.get(name=MODERATORS).permissions.filter(codename="view_user"))
    client = client_for(viewer)
    target = UserFactory()

    listing = client.get(USERS)
    response = action(client, USERS, "deactivate_users", [target.pk])

    assert listing.status_code == 200
    assert "deactivate_users" not in listing.content.decode()
    assert response.status_code != 500
    target.refresh_from_db()
    assert target.is_active is True
