"""The request's user comes from a cache, and every change of the user is seen by the next request."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from accounts.tests.admin_helpers import client_for, make_moderator, plain_static_storage  # noqa: F401
from accounts.tests.factories import UserFactory
from chatproject import cache_breaker
from conftest import bearer

# A Redis cache where nothing listens (the discard port), failing fast.
DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def me(client: APIClient):
    return client.get("/api/me")


def user_queries(captured: CaptureQueriesContext) -> list[str]:
    table = User._meta.db_table
    return [q["sql"] for q in captured.captured_queries if f'FROM "{table}"' in q["sql"]]


@pytest.mark.django_db
def test_a_warm_request_reads_no_user_row(auth_client):
    assert me(auth_client).status_code == 200

    with CaptureQueriesContext(connection) as captured:
        response = me(auth_client)

    assert response.status_code == 200
    assert user_queries(captured) == []


@pytest.mark.django_db
def test_a_ban_is_seen_by_the_next_request_even_before_it_commits(auth_client, user):
    assert me(auth_client).status_code == 200  # warm

    services.user_deactivate(user=user)  # the test's transaction never commits

    response = me(auth_client)
    assert response.status_code == 401
    assert response.json()["code"] == "account_disabled"


@pytest.mark.django_db
def test_a_username_change_is_seen_by_the_next_request(auth_client, user):
    assert me(auth_client).json()["username"] == user.username

    user.username = "renamed"
    user.save(update_fields=["username"])

    assert me(auth_client).json()["username"] == "renamed"


@pytest.mark.django_db
def test_a_deleted_user_is_refused_by_the_next_request(auth_client, user):
    assert me(auth_client).status_code == 200

    services.user_delete(user=user)

    assert me(auth_client).status_code == 401


@pytest.mark.django_db
def test_a_ban_from_the_admin_is_seen_by_the_next_request(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=bearer(user))
    assert me(api).status_code == 200

    admin = client_for(make_moderator())
    response = admin.post(
        "/admin/accounts/user/", {"action": "deactivate_users", "_selected_action": [user.pk]}
    )

    assert response.status_code in (200, 302)
    assert me(api).status_code == 401


@pytest.mark.django_db
def test_the_password_hash_is_not_cached_but_still_readable(auth_client, user):
    me(auth_client)
    with CaptureQueriesContext(connection) as captured:
        response = me(auth_client)
    assert response.status_code == 200
    assert all('"password"' not in sql for sql in user_queries(captured))
    # A view that needs the hash (a password check) still gets it, from the database.
    fresh = User.objects.get(pk=user.pk)
    assert fresh.password


@pytest.mark.django_db
def test_an_unreachable_cache_falls_back_to_the_database(auth_client):
    with override_settings(CACHES=DEAD_CACHE):
        response = me(auth_client)

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_row_read_while_a_ban_is_uncommitted_is_outdated_by_the_commit():
    """A request reads the user (still active) while a ban is written but not committed, and caches the
    row: the ban's commit writes a new generation, so the next request reads the database and is refused."""
    user = UserFactory()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=bearer(user))

    def request_from_another_connection() -> int:
        answers: list[int] = []

        def run() -> None:
            try:
                answers.append(me(api).status_code)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(10)
        return answers[0]

    with transaction.atomic():
        services.user_deactivate(user=User.objects.get(pk=user.pk))
        # Another connection does not see the uncommitted ban: it authenticates and caches the row.
        assert request_from_another_connection() == 200

    assert me(api).status_code == 401
    assert request_from_another_connection() == 401


@pytest.mark.django_db
def test_after_a_cache_failure_the_next_requests_skip_it(auth_client):
    with override_settings(CACHES=DEAD_CACHE):
        assert me(auth_client).status_code == 200
        assert not cache_breaker.cache_usable()
        with CaptureQueriesContext(connection) as captured:
            assert me(auth_client).status_code == 200
    # Skipped, not retried: the user came from the database.
    assert len(user_queries(captured)) == 1
