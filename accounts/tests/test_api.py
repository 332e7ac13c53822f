"""REST contract of /api/register, /api/login, /api/refresh, /api/logout and /api/me."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import services
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def register_body(**overrides: Any) -> dict[str, Any]:
    return {"username": "ivan", "email": "ivan@example.com", "password": DEFAULT_PASSWORD, **overrides}


def login(client: APIClient, user: User, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    response = client.post("/api/login", {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def lower_rate(settings: Any, scope: str, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], scope: rate},
    }


def expired(token: AccessToken | RefreshToken) -> str:
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


WRONG_TYPES = [
    pytest.param([register_body()], id="body-is-list"),
    pytest.param("ivan", id="body-is-string"),
    pytest.param(5, id="body-is-number"),
    pytest.param(None, id="body-is-null"),
    pytest.param(register_body(email=5), id="email-number"),
    pytest.param(register_body(email=True), id="email-bool"),
    pytest.param(register_body(password=["a", "b"]), id="password-list"),
    pytest.param(register_body(password=12345678901234), id="password-number"),
    pytest.param(register_body(username={"a": 1}), id="username-object"),
    pytest.param(register_body(username=None), id="username-null"),
]


# --- register ---------------------------------------------------------------------------------


def test_register_returns_201_with_user(api_client):
    response = api_client.post("/api/register", register_body(), format="json")

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {"id": user.pk, "username": "ivan", "email": "ivan@example.com"}


def test_register_stores_a_usable_password(api_client):
    api_client.post("/api/register", register_body(), format="json")

    assert User.objects.get().check_password(DEFAULT_PASSWORD)


def test_register_returns_409_when_email_exists_in_other_case(api_client):
    UserFactory(email="ivan@example.com")

    response = api_client.post("/api/register", register_body(email="IVAN@Example.COM"), format="json")

    assert response.status_code == 409
    assert response.json() == {"error": "email already exists", "code": "email_exists"}
    assert User.objects.count() == 1


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "ivan@example.com"], ids=str)
def test_register_returns_400_naming_password_when_weak(api_client, password):
    response = api_client.post("/api/register", register_body(password=password), format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["error"].startswith("password: ")
    assert body["fields"]["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize("username", ["", "   ", "x" * 101], ids=["empty", "blank", "too-long"])
def test_register_returns_400_when_username_out_of_range(api_client, username):
    response = api_client.post("/api/register", register_body(username=username), format="json")

    assert response.status_code == 400
    assert "username" in response.json()["fields"]


@pytest.mark.parametrize("username", ["x", "x" * 100], ids=["one-char", "hundred-chars"])
def test_register_accepts_username_at_length_bounds(api_client, username):
    response = api_client.post("/api/register", register_body(username=username), format="json")

    assert response.status_code == 201
    assert response.json()["username"] == username


def test_register_returns_400_when_email_invalid(api_client):
    response = api_client.post("/api/register", register_body(email="not-an-email"), format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "email: Enter a valid email address."


def test_register_returns_400_when_fields_missing(api_client):
    response = api_client.post("/api/register", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"username", "email", "password"}


def test_register_returns_400_invalid_json_when_body_malformed(api_client):
    response = api_client.post("/api/register", '{"username": "ivan",', content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid json", "code": "invalid_json"}


@pytest.mark.parametrize("body", WRONG_TYPES)
def test_register_returns_400_when_json_types_wrong(api_client, body):
    response = api_client.post("/api/register", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert not User.objects.exists()


def test_register_returns_429_with_retry_after_when_rate_exceeded(api_client, settings):
    lower_rate(settings, "register", "2/min")
    for n in range(2):
        api_client.post("/api/register", register_body(email=f"u{n}@example.com"), format="json")

    response = api_client.post("/api/register", register_body(email="u3@example.com"), format="json")

    assert response.status_code == 429
    assert response.json() == {"error": "rate limit exceeded", "code": "rate_limited"}
    assert 1 <= int(response["Retry-After"]) <= 61
    assert User.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_register_creates_one_account_when_eight_race_with_same_email_in_other_case():
    emails = [
        "race@example.com",
        "RACE@example.com",
        "Race@example.com",
        "rAce@example.com",
        "raCe@example.com",
        "racE@example.com",
        "RAce@example.com",
        "raCE@example.com",
    ]
    barrier = threading.Barrier(len(emails))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def register(email: str) -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=10)
            response = client.post("/api/register", register_body(email=email), format="json")
            statuses.append(response.status_code)
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(statuses) == [201] + [409] * 7
    assert User.objects.filter(email__iexact="race@example.com").count() == 1


# --- login ------------------------------------------------------------------------------------


def test_login_returns_token_pair(api_client, user):
    response = api_client.post(
        "/api/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token"}
    assert AccessToken(body["access_token"])["user_id"] == str(user.pk)
    assert RefreshToken(body["refresh_token"])["user_id"] == str(user.pk)


def test_login_access_token_authenticates_me(api_client, user):
    tokens = login(api_client, user)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    response = api_client.get("/api/me")

    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_login_matches_email_case_insensitively(api_client, user):
    response = api_client.post(
        "/api/login", {"email": f"  {user.email.upper()} ", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200


@pytest.mark.parametrize("email", [" ", "\x1c\r"], ids=repr)
def test_login_returns_404_when_email_is_only_whitespace(api_client, email):
    response = api_client.post("/api/login", {"email": email, "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"


def test_login_returns_404_when_user_unknown(api_client):
    response = api_client.post(
        "/api/login", {"email": "nobody@example.com", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"error": "user not found", "code": "user_not_found"}


def test_login_returns_401_when_password_wrong(api_client, user):
    response = api_client.post(
        "/api/login", {"email": user.email, "password": "wrong password"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid password", "code": "invalid_password"}


def test_login_returns_403_when_account_disabled(api_client, user):
    services.user_deactivate(user=user)

    response = api_client.post(
        "/api/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == {"error": "account disabled", "code": "account_disabled"}


def test_login_returns_401_not_403_when_disabled_account_password_wrong(api_client, user):
    # Without the right password, nobody learns that the account was banned.
    services.user_deactivate(user=user)

    response = api_client.post(
        "/api/login", {"email": user.email, "password": "wrong password"}, format="json"
    )

    assert response.status_code == 401


def test_login_returns_400_invalid_json_when_body_malformed(api_client):
    response = api_client.post("/api/login", "{", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid json", "code": "invalid_json"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"email": 5, "password": DEFAULT_PASSWORD}, id="email-number"),
        pytest.param({"email": "a@example.com", "password": ["x"]}, id="password-list"),
        pytest.param({"email": "a@example.com"}, id="password-missing"),
        pytest.param(["a@example.com", DEFAULT_PASSWORD], id="body-is-list"),
        pytest.param("a@example.com", id="body-is-string"),
    ],
)
def test_login_returns_400_when_json_types_wrong(api_client, body):
    response = api_client.post("/api/login", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_login_returns_429_with_retry_after_when_rate_exceeded(api_client, settings, user):
    lower_rate(settings, "login", "3/min")
    body = {"email": user.email, "password": "wrong password"}
    for _ in range(3):
        api_client.post("/api/login", body, format="json")

    response = api_client.post("/api/login", {**body, "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61


def test_login_throttle_counts_each_client_address_separately(api_client, settings, user):
    lower_rate(settings, "login", "1/min")
    body = {"email": user.email, "password": DEFAULT_PASSWORD}
    api_client.post("/api/login", body, format="json", REMOTE_ADDR="10.0.0.1")

    response = api_client.post("/api/login", body, format="json", REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 200


def test_login_throttle_ignores_forged_forwarded_for_header(api_client, settings, user):
    lower_rate(settings, "login", "1/min")
    body = {"email": user.email, "password": DEFAULT_PASSWORD}
    api_client.post("/api/login", body, format="json", HTTP_X_FORWARDED_FOR="1.1.1.1")

    response = api_client.post("/api/login", body, format="json", HTTP_X_FORWARDED_FOR="2.2.2.2")

    assert response.status_code == 429


def test_login_throttle_uses_forwarded_address_when_behind_proxy(api_client, settings, user):
    lower_rate(settings, "login", "1/min")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    body = {"email": user.email, "password": DEFAULT_PASSWORD}
    api_client.post("/api/login", body, format="json", HTTP_X_FORWARDED_FOR="1.1.1.1")

    response = api_client.post("/api/login", body, format="json", HTTP_X_FORWARDED_FOR="2.2.2.2")

    assert response.status_code == 200


def test_login_returns_503_when_throttle_cache_unreachable(api_client, user):
    from django.test import override_settings

    dead_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=dead_cache):
        response = api_client.post(
            "/api/login", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
        )

    assert response.status_code == 503
    assert response.json() == {"error": "service unavailable", "code": "service_unavailable"}
    assert int(response["Retry-After"]) > 0


# --- refresh ----------------------------------------------------------------------------------


def test_refresh_returns_new_token_pair(api_client, user):
    tokens = login(api_client, user)

    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token"}
    assert body["refresh_token"] != tokens["refresh_token"]
    assert AccessToken(body["access_token"])["user_id"] == str(user.pk)


def test_refresh_new_refresh_token_works(api_client, user):
    tokens = login(api_client, user)
    rotated = api_client.post(
        "/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json"
    ).json()

    response = api_client.post("/api/refresh", {"refresh_token": rotated["refresh_token"]}, format="json")

    assert response.status_code == 200


def test_refresh_returns_401_when_token_already_rotated(api_client, user):
    tokens = login(api_client, user)
    api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 401
    assert response.json() == {"error": "invalid refresh token", "code": "invalid_refresh_token"}


def test_refresh_blacklists_the_old_token(api_client, user):
    tokens = login(api_client, user)

    api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    jti = RefreshToken(tokens["refresh_token"], verify=False)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=jti).exists()


def test_refresh_returns_401_when_given_access_token(api_client, user):
    tokens = login(api_client, user)

    response = api_client.post("/api/refresh", {"refresh_token": tokens["access_token"]}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


def test_refresh_returns_401_when_token_expired(api_client, user):
    response = api_client.post(
        "/api/refresh", {"refresh_token": expired(RefreshToken.for_user(user))}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""], ids=["garbage", "three-parts", "empty"])
def test_refresh_returns_error_when_token_malformed(api_client, token):
    response = api_client.post("/api/refresh", {"refresh_token": token}, format="json")

    # An empty string fails validation (400); anything else that is not a token is a 401.
    assert response.status_code == (400 if token == "" else 401)


def test_refresh_returns_401_when_signature_tampered(api_client, user):
    raw = str(RefreshToken.for_user(user))
    header, payload, signature = raw.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"

    response = api_client.post("/api/refresh", {"refresh_token": tampered}, format="json")

    assert response.status_code == 401


def test_refresh_returns_401_when_user_deactivated_through_service(api_client, user):
    tokens = login(api_client, user)
    services.user_deactivate(user=user)

    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 401


def test_refresh_returns_403_when_user_inactive_but_token_not_revoked(api_client, user):
    tokens = login(api_client, user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 403
    assert response.json() == {"error": "account disabled", "code": "account_disabled"}


def test_refresh_returns_401_when_user_deleted(api_client, user):
    tokens = login(api_client, user)
    User.objects.filter(pk=user.pk).delete()

    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")

    assert response.status_code == 401


def test_refresh_returns_503_and_keeps_old_token_when_database_fails_midway(api_client, user, monkeypatch):
    tokens = login(api_client, user)

    def lose_database(**fields: Any) -> OutstandingToken:
        raise OperationalError("server closed the connection unexpectedly")

    # The old token is blacklisted before the new pair is recorded (simplejwt's OutstandingToken);
    # the failure must undo both.
    monkeypatch.setattr(OutstandingToken.objects, "create", lose_database)
    response = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    monkeypatch.undo()

    assert response.status_code == 503
    assert response.json() == {"error": "service unavailable", "code": "service_unavailable"}
    retry = api_client.post("/api/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert retry.status_code == 200


def test_refresh_returns_400_when_token_missing(api_client):
    response = api_client.post("/api/refresh", {}, format="json")

    assert response.status_code == 400
    assert "refresh_token" in response.json()["fields"]


def test_refresh_returns_429_with_retry_after_when_rate_exceeded(api_client, settings):
    lower_rate(settings, "refresh", "2/min")
    for _ in range(2):
        api_client.post("/api/refresh", {"refresh_token": "x"}, format="json")

    response = api_client.post("/api/refresh", {"refresh_token": "x"}, format="json")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61


@pytest.mark.django_db(transaction=True)
def test_refresh_succeeds_once_when_one_token_refreshed_concurrently():
    user = UserFactory()
    refresh_token = str(RefreshToken.for_user(user))
    contenders = 4
    barrier = threading.Barrier(contenders)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=10)
            response = client.post("/api/refresh", {"refresh_token": refresh_token}, format="json")
            statuses.append(response.status_code)
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(statuses) == [200] + [401] * (contenders - 1)


# --- logout -----------------------------------------------------------------------------------


def test_logout_returns_204(auth_client, user):
    refresh = str(RefreshToken.for_user(user))

    response = auth_client.post("/api/logout", {"refresh_token": refresh}, format="json")

    assert response.status_code == 204
    assert response.content == b""


def test_logout_makes_refresh_token_stop_working(api_client, auth_client, user):
    refresh = str(RefreshToken.for_user(user))
    auth_client.post("/api/logout", {"refresh_token": refresh}, format="json")

    response = api_client.post("/api/refresh", {"refresh_token": refresh}, format="json")

    assert response.status_code == 401


def test_logout_twice_returns_204(auth_client, user):
    refresh = str(RefreshToken.for_user(user))
    auth_client.post("/api/logout", {"refresh_token": refresh}, format="json")

    response = auth_client.post("/api/logout", {"refresh_token": refresh}, format="json")

    assert response.status_code == 204


def test_logout_returns_401_without_access_token(api_client, user):
    refresh = str(RefreshToken.for_user(user))

    response = api_client.post("/api/logout", {"refresh_token": refresh}, format="json")

    assert response.status_code == 401
    assert not BlacklistedToken.objects.exists()


def test_logout_returns_403_when_token_belongs_to_another_user(auth_client):
    other = UserFactory()
    refresh = str(RefreshToken.for_user(other))

    response = auth_client.post("/api/logout", {"refresh_token": refresh}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "token_not_yours"
    assert not BlacklistedToken.objects.exists()


def test_logout_returns_401_when_refresh_token_malformed(auth_client):
    response = auth_client.post("/api/logout", {"refresh_token": "garbage"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


def test_logout_returns_401_when_refresh_token_is_only_whitespace(auth_client):
    response = auth_client.post("/api/logout", {"refresh_token": "  "}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


def test_logout_returns_400_when_token_missing(auth_client):
    response = auth_client.post("/api/logout", {}, format="json")

    assert response.status_code == 400


# --- me and bearer authentication -------------------------------------------------------------


def test_me_returns_user(auth_client, user):
    response = auth_client.get("/api/me")

    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": user.username, "email": user.email}


def test_me_returns_401_when_header_missing(api_client):
    response = api_client.get("/api/me")

    assert response.status_code == 401
    assert response.json() == {"error": "authentication required", "code": "not_authenticated"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer garbage", "Bearer a.b.c", "Bearer", "Bearer one two", "Token abc", "bearer"],
    ids=["garbage", "three-parts", "no-token", "two-tokens", "other-scheme", "lowercase-scheme"],
)
def test_me_returns_401_json_when_header_malformed(api_client, header):
    response = api_client.get("/api/me", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert set(response.json()) == {"error", "code"}


def test_me_returns_401_when_access_token_expired(api_client, user):
    token = expired(AccessToken.for_user(user))

    response = api_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    assert response.json() == {"error": "invalid or expired token", "code": "invalid_token"}


def test_me_returns_401_when_given_refresh_token(api_client, user):
    response = api_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user)}")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_me_returns_401_at_once_when_user_deactivated(auth_client, user):
    services.user_deactivate(user=user)

    response = auth_client.get("/api/me")

    assert response.status_code == 401
    assert response.json() == {"error": "account disabled", "code": "account_disabled"}


def test_me_returns_401_when_user_deleted(auth_client, user):
    User.objects.filter(pk=user.pk).delete()

    response = auth_client.get("/api/me")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_me_works_again_after_reactivation(auth_client, user):
    services.user_deactivate(user=user)
    services.user_reactivate(user=user)

    response = auth_client.get("/api/me")

    assert response.status_code == 200
