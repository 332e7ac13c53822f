"""CORS (django-cors-headers): browser apps on CORS_ALLOWED_ORIGINS may call /api/; no other origin may."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db

APP = "https://app.example.com"


@pytest.fixture(autouse=True)
def _allowed(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = [APP]


def preflight(origin: str, path: str = "/api/me", method: str = "GET") -> Any:
    return APIClient().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_preflight_from_an_allowed_origin_allows_bearer_and_json():
    response = preflight(APP, "/api/chats", "POST")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed_headers
    allowed_methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert allowed_methods == {"GET", "POST", "PATCH", "DELETE"}
    # Bearer tokens, never cookies: credentials are not allowed.
    assert "Access-Control-Allow-Credentials" not in response


def test_preflight_from_another_origin_gets_no_cors_headers():
    response = preflight("https://evil.example.net")
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_no_cors_by_default(settings: Any):
    settings.CORS_ALLOWED_ORIGINS = []
    response = preflight(APP)
    assert "Access-Control-Allow-Origin" not in response


def test_only_api_paths_answer_cross_origin():
    response = APIClient().get("/healthz", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response


def test_get_me_from_an_allowed_origin_carries_allow_origin():
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    response = client.get("/api/me", HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert response.json()["id"] == user.id
    assert response["Access-Control-Allow-Origin"] == APP
    assert "Retry-After" in response["Access-Control-Expose-Headers"]


def test_an_error_from_an_allowed_origin_is_readable_too():
    response = APIClient().get("/api/me", HTTP_ORIGIN=APP)
    assert response.status_code == 401
    assert "error" in response.json()
    assert response["Access-Control-Allow-Origin"] == APP


def test_get_me_from_another_origin_has_no_allow_origin():
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    response = client.get("/api/me", HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in response
