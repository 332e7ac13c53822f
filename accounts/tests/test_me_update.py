"""PATCH /api/me: the username changes under registration's rule; nothing else may change."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def patch(client: APIClient, body: object) -> object:
    return client.patch("/api/me", body, format="json")


def test_rename_returns_200_with_the_get_shape(auth_client, user):
    response = patch(auth_client, {"username": "Ivan the Second"})

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": "Ivan the Second", "email": user.email}
    assert auth_client.get("/api/me").json() == response.json()


def test_rename_is_stored(auth_client, user):
    patch(auth_client, {"username": "stored name"})

    user.refresh_from_db()
    assert user.username == "stored name"


def test_rename_trims_like_registration(auth_client, user):
    response = patch(auth_client, {"username": "  padded  "})

    assert response.json()["username"] == "padded"


@pytest.mark.parametrize("username", ["", "   ", "x" * 101], ids=["empty", "blank", "too-long"])
def test_rename_out_of_range_is_400_like_registration(auth_client, user, username):
    before = user.username

    response = patch(auth_client, {"username": username})

    assert response.status_code == 400
    assert "username" in response.json()["fields"]
    user.refresh_from_db()
    assert user.username == before


@pytest.mark.parametrize("username", ["x", "x" * 100], ids=["one-char", "hundred-chars"])
def test_rename_accepts_the_registration_bounds(auth_client, username):
    assert patch(auth_client, {"username": username}).json()["username"] == username


def test_a_name_another_user_has_is_allowed_as_at_registration(auth_client, bob):
    """Usernames are display names (the seed's schema has no unique username; the login is the email)."""
    response = patch(auth_client, {"username": bob.username})

    assert response.status_code == 200
    assert response.json()["username"] == bob.username


def test_email_cannot_be_changed(auth_client, user):
    response = patch(auth_client, {"username": "new", "email": "new@example.com"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"email": ["this field cannot be changed"]}
    user.refresh_from_db()
    assert user.email != "new@example.com"
    assert user.username != "new"


@pytest.mark.parametrize("member", ["id", "is_staff", "password", "surprise"])
def test_unknown_or_read_only_members_are_400(auth_client, user, member):
    response = patch(auth_client, {member: True})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {member}
    user.refresh_from_db()
    assert not user.is_staff


def test_empty_body_changes_nothing(auth_client, user):
    response = patch(auth_client, {})

    assert response.status_code == 200
    assert response.json()["username"] == user.username


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([], id="list"),
        pytest.param("ivan", id="string"),
        pytest.param({"username": 5}, id="number"),
        pytest.param({"username": None}, id="null"),
        pytest.param({"username": ["ivan"]}, id="list-value"),
    ],
)
def test_wrong_types_are_400(auth_client, body):
    response = patch(auth_client, body)

    assert response.status_code == 400
    assert set(response.json()) >= {"error", "code"}


def test_malformed_json_is_400(auth_client):
    response = auth_client.patch("/api/me", data='{"username": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_unauthenticated_is_401(api_client):
    response = patch(api_client, {"username": "x"})

    assert response.status_code == 401
