import pytest

pytestmark = pytest.mark.django_db


def test_register_returns_201_with_user(api_client):
    response = api_client.post(
        "/api/register",
        {"username": "ivan", "email": "ivan@example.com", "password": "correct horse battery"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["email"] == "ivan@example.com"


def test_me_returns_user(auth_client, user):
    response = auth_client.get("/api/me")
    assert response.status_code == 200
    assert response.json() == {"id": user.id, "username": user.username, "email": user.email}
