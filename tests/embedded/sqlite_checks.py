"""The embedded default (`make run` without configuration): SQLite and the in-memory channel layer.

Not collected by `make test` (the name does not match test_*.py): tests/test_embedded.py runs this file
in its own pytest process with DATABASE_URL on SQLite and no REDIS_URL, so the branches only SQLite
takes (message search by scan, the admin's plain counts, writes without row locks, maintenance without
advisory locks) run in every CI build too.
"""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.tests.admin_helpers import client_for, make_moderator, plain_static_storage  # noqa: F401
from chats.tests.factories import add_messages, group_chat, private_chat
from conftest import bearer
from messaging.models import Attachment
from tests.test_maintenance import old_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _on_sqlite() -> None:
    # These checks mean nothing on another database: fail rather than pass vacuously.
    assert connection.vendor == "sqlite", connection.vendor


def client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=bearer(user))
    return api


def test_send_and_history_over_rest(user, bob):
    chat = private_chat(user, bob)
    api = client(user)

    sent = api.post("/api/messages/send", {"chat_id": chat.pk, "content": "hello"}, format="json")
    history = api.get("/api/messages/get", {"chat_id": chat.pk})

    assert sent.status_code == 200, sent.json()
    assert [m["content"] for m in history.json()["messages"]] == ["hello"]
    # The page is read with plain SQL and SQLite's converters (datetimes, booleans): the same payload.
    assert history.json()["messages"] == [sent.json()]


def test_a_banned_user_cannot_send(user, bob):
    chat = private_chat(user, bob)
    api = client(user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = api.post("/api/messages/send", {"chat_id": chat.pk, "content": "hello"}, format="json")

    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_search_scans_for_substrings_shorter_than_postgresqls_floor(user, bob):
    chat = private_chat(user, bob)
    api = client(user)
    for text in ("lunch at noon?", "no idea", "Lunch is great"):
        api.post("/api/messages/send", {"chat_id": chat.pk, "content": text}, format="json")

    found = api.get("/api/messages/search", {"q": "unc"})
    short = api.get("/api/messages/search", {"q": "id"})

    assert [m["content"] for m in found.json()["messages"]] == ["Lunch is great", "lunch at noon?"]
    assert [m["content"] for m in short.json()["messages"]] == ["no idea"]


def test_search_never_finds_other_peoples_chats(user, bob, carol):
    theirs = private_chat(bob, carol)
    add_messages(theirs, bob, 1, text="a secret plan")

    response = client(user).get("/api/messages/search", {"q": "secret"})

    assert response.json()["messages"] == []


def test_admin_message_list_counts_and_searches(user, bob):
    chat = group_chat(user, bob, name="Book club")
    add_messages(chat, user, 3, text="nothing to see")
    [wanted] = add_messages(chat, bob, 1, text="the password is swordfish")
    moderator: Client = client_for(make_moderator())

    everything = moderator.get("/admin/messaging/message/")
    found = moderator.get("/admin/messaging/message/", {"q": "swordfish"})

    assert everything.status_code == 200
    assert everything.context["cl"].result_count == 4
    assert [m.pk for m in found.context["cl"].result_list] == [wanted.pk]


def test_maintenance_runs_each_job_without_advisory_locks(user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    stale, young = old_upload(user, hours=48), old_upload(user, hours=1)

    call_command("run_maintenance", "--once", stdout=io.StringIO())

    assert list(Attachment.objects.values_list("pk", flat=True)) == [young.pk]
    assert not Attachment.objects.filter(pk=stale.pk).exists()
