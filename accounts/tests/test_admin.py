"""The user admin: list, search, filter, and ban/unban through accounts.services."""

import pytest
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Tests run with DEBUG off, whose manifest storage needs collectstatic; admin pages need {% static %}.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def admin_client() -> Client:
    admin = User.objects.create_superuser("admin@example.com", "admin password 123")
    client = Client()
    client.force_login(admin)
    return client


def listed_emails(response) -> set[str]:
    return {user.email for user in response.context["cl"].result_list}


def test_changelist_lists_users(admin_client):
    ivan, olga = UserFactory(email="ivan@example.com"), UserFactory(email="olga@example.com")

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert {ivan.email, olga.email} <= listed_emails(response)


def test_changelist_search_finds_by_email(admin_client):
    UserFactory(email="ivan@example.com", username="ivan")
    UserFactory(email="olga@example.com", username="olga")

    response = admin_client.get(CHANGELIST, {"q": "olga@exa"})

    assert listed_emails(response) == {"olga@example.com"}


def test_changelist_search_finds_by_username(admin_client):
    UserFactory(email="a@example.com", username="ivan_the_terrible")
    UserFactory(email="b@example.com", username="olga")

    response = admin_client.get(CHANGELIST, {"q": "terrible"})

    assert listed_emails(response) == {"a@example.com"}


def test_changelist_filters_by_active(admin_client):
    UserFactory(email="active@example.com")
    UserFactory(email="banned@example.com", is_active=False)

    response = admin_client.get(CHANGELIST, {"is_active__exact": "0"})

    assert listed_emails(response) == {"banned@example.com"}


def test_changelist_filters_by_staff(admin_client):
    UserFactory(email="staff@example.com", is_staff=True)
    UserFactory(email="plain@example.com")

    response = admin_client.get(CHANGELIST, {"is_staff__exact": "1"})

    assert listed_emails(response) == {"staff@example.com", "admin@example.com"}


def test_deactivate_action_bans_selected_users_and_revokes_their_tokens(admin_client):
    target, bystander = UserFactory(), UserFactory()
    token = RefreshToken.for_user(target)

    response = admin_client.post(
        CHANGELIST, {"action": "deactivate_users", "_selected_action": [target.pk]}, follow=True
    )

    assert response.status_code == 200
    target.refresh_from_db()
    bystander.refresh_from_db()
    assert target.is_active is False
    assert bystander.is_active is True
    assert BlacklistedToken.objects.filter(token__jti=token["jti"]).exists()
    assert "Deactivated 1 user(s)." in [str(m) for m in response.context["messages"]]


def test_reactivate_action_unbans_selected_users(admin_client):
    target = UserFactory(is_active=False)

    admin_client.post(CHANGELIST, {"action": "reactivate_users", "_selected_action": [target.pk]})

    target.refresh_from_db()
    assert target.is_active is True


def test_changelist_redirects_non_staff_to_login():
    client = Client()
    client.force_login(UserFactory())

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
