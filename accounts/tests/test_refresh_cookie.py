"""The web client's refresh token in HttpOnly cookies (X-Refresh-Cookie: 1), and the body contract beside it."""

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

OPT_IN = {"HTTP_X_REFRESH_COOKIE": "1"}
COOKIES = {"refresh_token": "/api/refresh", "logout_token": "/api/logout"}
CROSS_SITE = {
    "error": "refresh cookie refused: send X-Refresh-Cookie: 1 from this origin",
    "code": "cross_site_cookie",
}


def cookie_login(client: APIClient, user: User, **extra: Any) -> Any:
    """Log in as the web client does: the refresh token comes back in cookies."""
    response = client.post(
        "/api/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json", **OPT_IN, **extra
    )
    assert response.status_code == 200, response.content
    return response


def body_login(client: APIClient, user: User) -> dict[str, str]:
    response = client.post("/api/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh_cookie(client: APIClient) -> str:
    return client.cookies["refresh_token"].value


# --- login -------------------------------------------------------------------------------------


def test_login_with_opt_in_puts_refresh_token_in_httponly_strict_cookies_scoped_to_their_paths(
    api_client, user
):
    response = cookie_login(api_client, user)

    assert set(response.json()) == {"access_token"}
    assert AccessToken(response.json()["access_token"])["user_id"] == str(user.pk)
    assert set(response.cookies) == set(COOKIES)
    for name, path in COOKIES.items():
        cookie = response.cookies[name]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == path
        assert cookie["max-age"] == int(timedelta(days=7).total_seconds())
        assert not cookie["secure"]  # plain http: a Secure cookie would never come back
    assert response.cookies["refresh_token"].value == response.cookies["logout_token"].value


def test_login_cookie_is_secure_under_https(api_client, user):
    response = cookie_login(api_client, user, secure=True)

    for name in COOKIES:
        assert response.cookies[name]["secure"] is True


def test_login_without_opt_in_keeps_body_tokens_and_sets_no_cookie(api_client, user):
    response = api_client.post(
        "/api/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token"}
    assert not response.cookies


def test_login_opt_in_from_another_origin_is_refused(api_client, user):
    response = api_client.post(
        "/api/login",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        format="json",
        HTTP_ORIGIN="https://evil.example",
        **OPT_IN,
    )

    assert response.status_code == 403
    assert response.json() == CROSS_SITE
    assert not response.cookies


# --- refresh -----------------------------------------------------------------------------------


def test_refresh_from_cookie_rotates_it_and_answers_the_access_token_only(api_client, user):
    cookie_login(api_client, user)
    old = refresh_cookie(api_client)

    response = api_client.post("/api/refresh", HTTP_ORIGIN="http://testserver", **OPT_IN)

    assert response.status_code == 200
    assert set(response.json()) == {"access_token"}
    new = response.cookies["refresh_token"].value
    assert new != old
    assert response.cookies["logout_token"].value == new
    assert response.cookies["refresh_token"]["httponly"] is True
    assert response.cookies["refresh_token"]["samesite"] == "Strict"
    assert response.cookies["refresh_token"]["path"] == "/api/refresh"
    # The rotated-away token is refused, as over the body.
    assert APIClient().post("/api/refresh", {"refresh_token": old}, format="json").status_code == 401


def test_refresh_from_cookie_accepts_an_empty_json_body(api_client, user):
    cookie_login(api_client, user)

    response = api_client.post("/api/refresh", {}, format="json", **OPT_IN)

    assert response.status_code == 200
    assert set(response.json()) == {"access_token"}


def test_refresh_cookie_without_the_header_is_refused_as_csrf(api_client, user):
    cookie_login(api_client, user)
    token = refresh_cookie(api_client)

    response = api_client.post("/api/refresh", HTTP_ORIGIN="http://testserver")

    assert response.status_code == 403
    assert response.json() == CROSS_SITE
    assert not response.cookies
    # Nothing rotated: the token still works for the web client.
    assert api_client.post("/api/refresh", **OPT_IN).status_code == 200
    assert refresh_cookie(api_client) != token


def test_refresh_cookie_from_another_origin_is_refused_as_csrf(api_client, user):
    cookie_login(api_client, user)

    response = api_client.post("/api/refresh", HTTP_ORIGIN="https://evil.example", **OPT_IN)

    assert response.status_code == 403
    assert response.json() == CROSS_SITE


def test_refresh_cookie_from_a_csrf_trusted_origin_is_accepted(api_client, user, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    cookie_login(api_client, user)

    response = api_client.post("/api/refresh", HTTP_ORIGIN="https://chat.example.com", **OPT_IN)

    assert response.status_code == 200


def test_refresh_opted_in_without_cookie_is_401(api_client):
    response = api_client.post("/api/refresh", **OPT_IN)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid refresh token", "code": "invalid_refresh_token"}


def test_refresh_with_a_refused_cookie_clears_the_cookies(api_client, user):
    cookie_login(api_client, user)
    api_client.cookies["refresh_token"] = "not-a-token"

    response = api_client.post("/api/refresh", **OPT_IN)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    for name, path in COOKIES.items():
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0
        assert response.cookies[name]["path"] == path


def test_refresh_body_contract_unchanged_when_not_opted_in(api_client, user):
    tokens = body_login(api_client, user)

    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token"}
    assert not response.cookies


def test_refresh_body_token_is_used_even_when_a_cookie_is_present(api_client, user):
    cookie_login(api_client, user)
    cookie = refresh_cookie(api_client)
    tokens = body_login(APIClient(), user)

    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token"}
    assert not response.cookies
    # The cookie's own session was not touched.
    assert api_client.post("/api/refresh", **OPT_IN).status_code == 200
    assert refresh_cookie(api_client) != cookie


def test_refresh_body_without_token_and_without_cookie_is_still_400(api_client):
    response = api_client.post("/api/refresh", {}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"refresh_token": ["This field is required."]}


# --- logout ------------------------------------------------------------------------------------


def test_logout_with_cookie_revokes_the_session_and_clears_the_cookies(api_client, user):
    access = cookie_login(api_client, user).json()["access_token"]
    token = refresh_cookie(api_client)

    response = api_client.post("/api/logout", HTTP_AUTHORIZATION=f"Bearer {access}", **OPT_IN)

    assert response.status_code == 204
    for name, path in COOKIES.items():
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0
        assert response.cookies[name]["path"] == path
    assert APIClient().post("/api/refresh", {"refresh_token": token}, format="json").status_code == 401


def test_logout_cookie_without_the_header_is_refused_as_csrf(api_client, user):
    access = cookie_login(api_client, user).json()["access_token"]

    response = api_client.post("/api/logout", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert response.status_code == 403
    assert response.json() == CROSS_SITE
    assert api_client.post("/api/refresh", **OPT_IN).status_code == 200


def test_logout_body_contract_unchanged(api_client, user):
    tokens = body_login(api_client, user)

    response = api_client.post(
        "/api/logout",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )

    assert response.status_code == 204
    assert not response.cookies
