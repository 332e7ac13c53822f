"""REST contract of the user directory: GET /api/users?search= and GET /api/users/{id}."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from accounts.tests.test_api import lower_rate
from chats.tests.factories import group_chat, private_chat
from conftest import bearer

pytestmark = pytest.mark.django_db


def search(client: APIClient, text: str) -> Any:
    return client.get("/api/users", {"search": text})


def test_username_prefix_case_insensitive_without_emails(auth_client, user):
    ivan = UserFactory(username="IvanPetrov", email="ivan@example.com")
    UserFactory(username="ivory")
    UserFactory(username="bob")
    response = search(auth_client, "iva")
    assert response.status_code == 200
    assert response.json() == {"users": [{"id": ivan.pk, "username": "IvanPetrov"}]}
    assert "ivan@example.com" not in response.content.decode()


def test_exact_email_case_insensitive(auth_client):
    ivan = UserFactory(username="zed", email="Ivan@Example.com")
    assert search(auth_client, " ivan@EXAMPLE.com ").json() == {"users": [{"id": ivan.pk, "username": "zed"}]}
    # Only whole emails: a part of one finds nobody.
    assert search(auth_client, "ivan@example").json() == {"users": []}
    assert search(auth_client, "an@example.com").json() == {"users": []}


def test_short_query_is_400_unless_an_email(auth_client):
    for text in ["", "ab", "é1"]:
        response = search(auth_client, text)
        assert response.status_code == 400
        assert response.json()["code"] == "search_too_short"
        assert set(response.json()) == {"error", "code"}
    short = UserFactory(username="qq", email="a@b.c")
    assert search(auth_client, "A@B.C").json() == {"users": [{"id": short.pk, "username": "qq"}]}


def test_missing_parameter_is_400(auth_client):
    assert auth_client.get("/api/users").status_code == 400


def test_inactive_users_and_yourself_are_left_out(auth_client, user):
    UserFactory(username="ghost1", is_active=False)
    user.username = "ghostme"
    user.save()
    assert search(auth_client, "ghost").json() == {"users": []}


def test_at_most_twenty_by_username(auth_client):
    for n in range(25):
        UserFactory(username=f"team{n:02d}")
    users = search(auth_client, "TEAM").json()["users"]
    assert [u["username"] for u in users] == [f"team{n:02d}" for n in range(20)]


def test_wildcards_are_literal(auth_client):
    UserFactory(username="abc_def")
    UserFactory(username="abcxdef")
    assert [u["username"] for u in search(auth_client, "abc_").json()["users"]] == ["abc_def"]
    assert search(auth_client, "ab%").json() == {"users": []}


def test_needs_a_token(api_client):
    response = api_client.get("/api/users", {"search": "abc"})
    assert response.status_code == 401
    assert api_client.get("/api/users/1").status_code == 401


def test_throttled_per_user(settings, user, bob):
    lower_rate(settings, "user_search", "2/min")
    mine, bobs = APIClient(), APIClient()
    mine.credentials(HTTP_AUTHORIZATION=bearer(user))
    bobs.credentials(HTTP_AUTHORIZATION=bearer(bob))
    assert [search(mine, "abc").status_code for _ in range(3)] == [200, 200, 429]
    response = search(mine, "abc")
    assert response.json()["code"] == "rate_limited"
    assert search(bobs, "abc").status_code == 200


def test_detail_for_users_you_share_a_chat_with(auth_client, user, bob, carol, dave):
    private_chat(user, bob)
    group_chat(carol, user)
    UserFactory(username="stranger")
    assert auth_client.get(f"/api/users/{bob.pk}").json() == {"id": bob.pk, "username": "bob"}
    assert auth_client.get(f"/api/users/{carol.pk}").json() == {"id": carol.pk, "username": "carol"}
    assert auth_client.get(f"/api/users/{user.pk}").json() == {"id": user.pk, "username": user.username}


def test_detail_of_a_stranger_is_the_same_404_as_a_missing_user(auth_client, user, bob, dave):
    group_chat(bob, dave)
    stranger = auth_client.get(f"/api/users/{dave.pk}")
    missing = auth_client.get("/api/users/999999999")
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json() == missing.json() == {"error": "user not found", "code": "user_not_found"}
    assert auth_client.get("/api/users/abc").status_code == 404


def test_detail_of_a_deactivated_chat_partner_is_404(auth_client, user, bob):
    private_chat(user, bob)
    bob.is_active = False
    bob.save()
    assert auth_client.get(f"/api/users/{bob.pk}").status_code == 404
