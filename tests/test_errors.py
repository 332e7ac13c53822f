"""Every error is JSON {"error", "code"}: unknown URLs, wrong methods, crashes, bad bodies, outages."""

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from chatproject.views import server_error
from tests.error_urls import SECRET_DETAIL

pytestmark = pytest.mark.django_db


def register_body(**overrides: object) -> dict[str, object]:
    return {"username": "ivan", "email": "ivan@example.com", "password": DEFAULT_PASSWORD, **overrides}


@pytest.fixture
def crash_client() -> APIClient:
    """A client that returns the 500 response instead of re-raising the view's exception."""
    return APIClient(raise_request_exception=False)


# --- 404 / 405 ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/api/chats/x/y/z"])
def test_unknown_url_returns_json_404(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "not found", "code": "not_found"}


def test_wrong_method_on_api_endpoint_returns_json_405(api_client):
    response = api_client.get("/api/register")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert set(response.json()) == {"error", "code"}
    assert "POST" in response["Allow"]


@pytest.mark.urls("tests.error_urls")
def test_wrong_method_on_non_drf_view_returns_json_405(api_client):
    # Plain Django views (require_POST, the admin's logout) answer with a bodiless 405.
    response = api_client.get("/test/post-only")

    assert response.status_code == 405
    assert response.json() == {"error": "method not allowed", "code": "method_not_allowed"}
    assert "POST" in response["Allow"]


# --- 500 --------------------------------------------------------------------------------------


@pytest.mark.urls("tests.error_urls")
@pytest.mark.parametrize("path", ["/test/api-boom", "/test/django-boom"])
def test_unhandled_exception_returns_json_500_without_details(crash_client, path):
    response = crash_client.get(path)

    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "code": "internal_error"}
    assert SECRET_DETAIL.encode() not in response.content


@pytest.mark.urls("tests.error_urls")
def test_database_error_in_view_returns_503_with_retry_after(crash_client):
    response = crash_client.get("/test/api-database-down")

    assert response.status_code == 503
    assert response.json() == {"error": "service unavailable", "code": "service_unavailable"}
    assert int(response["Retry-After"]) > 0


def test_server_error_handler_returns_503_when_database_is_the_cause():
    # Outages raised outside any view (e.g. in a middleware) reach only handler500.
    request = RequestFactory().get("/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)

    assert response.status_code == 503
    assert json.loads(response.content)["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0


# --- bad bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ['{"email": ', "not json", '{"a": 1,}', "\x00"])
def test_malformed_json_returns_400_invalid_json(api_client, body):
    response = api_client.post("/api/login", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid json", "code": "invalid_json"}


def test_deeply_nested_json_returns_400_invalid_json(api_client):
    body = "[" * 100_000 + "]" * 100_000

    response = api_client.post("/api/login", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid json", "code": "invalid_json"}


def test_non_json_content_type_returns_json_415(api_client):
    response = api_client.post("/api/login", "email=a@b.c", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_body_over_upload_limit_returns_json_413_and_writes_nothing(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = api_client.post("/api/register", register_body(username="x" * 2000), format="json")

    assert response.status_code == 413
    assert response.json() == {"error": "request body too large", "code": "too_large"}
    assert not User.objects.exists()


def test_body_at_upload_limit_is_accepted(api_client, settings):
    body = json.dumps(register_body())
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)

    response = api_client.post("/api/register", body, content_type="application/json")

    assert response.status_code == 201


def test_validation_error_lists_fields(api_client):
    response = api_client.post("/api/register", {"username": "ivan"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"email", "password"}
    assert body["error"].startswith(("email: ", "password: "))


# --- token failures: worded once, in accounts.authentication ----------------------------------


def _token_with_user_id(value: object) -> str:
    token = AccessToken()
    token["user_id"] = value
    return str(token)


@pytest.mark.parametrize(
    ("authorization", "message", "code"),
    [
        ("Bearer not-a-token", "invalid or expired token", "invalid_token"),
        (
            "Bearer two parts",
            "Authorization header must contain two space-delimited values",
            "bad_authorization_header",
        ),
        (lambda user: f"Bearer {_token_with_user_id('abc')}", "invalid or expired token", "invalid_token"),
        (
            lambda user: f"Bearer {_token_with_user_id('999999999')}",
            "invalid or expired token",
            "invalid_token",
        ),
        (lambda user: f"Bearer {AccessToken.for_user(user)}", "account disabled", "account_disabled"),
    ],
    ids=["garbage", "three-part-header", "malformed-user-id", "unknown-user", "inactive-user"],
)
def test_token_failures_answer_401_in_the_apis_words(api_client, user, authorization, message, code):
    user.is_active = False
    user.save(update_fields=["is_active"])
    header = authorization(user) if callable(authorization) else authorization

    response = api_client.get("/api/me", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json() == {"error": message, "code": code}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_no_token_answers_401_authentication_required(api_client):
    response = api_client.get("/api/me")

    assert response.status_code == 401
    assert response.json() == {"error": "authentication required", "code": "not_authenticated"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- database unreachable (a real Daphne whose DATABASE_URL points at a closed port) -----------


def _signed_tokens() -> tuple[str, str]:
    # Signed with the same SECRET_KEY the server uses; the user id need not exist, the DB is down.
    access = AccessToken()
    access["user_id"] = "1"
    refresh = RefreshToken()
    refresh["user_id"] = "1"
    return str(access), str(refresh)


def _assert_unavailable(reply):
    assert reply.status == 503, reply.body
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"error": "service unavailable", "code": "service_unavailable"}
    assert int(reply.headers["retry-after"]) > 0


def test_register_returns_503_when_database_unreachable(dead_database_server):
    _assert_unavailable(dead_database_server.request("POST", "/api/register", register_body()))


def test_login_returns_503_when_database_unreachable(dead_database_server):
    reply = dead_database_server.request(
        "POST", "/api/login", {"email": "ivan@example.com", "password": DEFAULT_PASSWORD}
    )
    _assert_unavailable(reply)


def test_refresh_returns_503_when_database_unreachable(dead_database_server):
    _, refresh = _signed_tokens()
    _assert_unavailable(dead_database_server.request("POST", "/api/refresh", {"refresh_token": refresh}))


def test_authenticated_request_returns_503_when_database_unreachable(dead_database_server):
    access, _ = _signed_tokens()
    reply = dead_database_server.request("GET", "/api/me", headers={"Authorization": f"Bearer {access}"})
    _assert_unavailable(reply)


def test_unknown_url_still_returns_json_404_when_database_unreachable(dead_database_server):
    reply = dead_database_server.request("GET", "/api/nope")

    assert reply.status == 404
    assert reply.json() == {"error": "not found", "code": "not_found"}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_upload_limit_returns_413_through_daphne(dead_database_server, chunked, settings):
    # The size check comes before any database work, so the outage does not mask it.
    raw = b'{"username": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'

    reply = dead_database_server.request("POST", "/api/register", raw=raw, chunked=chunked)

    assert reply.status == 413
    assert reply.json() == {"error": "request body too large", "code": "too_large"}
