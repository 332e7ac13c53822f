"""Shared fixtures: users, API clients, and the broadcasts that leave after commit."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

import realtime.broadcast
from accounts.tests.factories import UserFactory
from chatproject import cache_breaker
from chatproject.conf import DEFAULTS, chat_settings


@pytest.fixture(autouse=True)
def _fresh_throttles_and_cache(settings: Any) -> Iterator[None]:
    """Every test starts with empty throttle counters and generous rates (throttle tests lower them)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(
            settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "10000/min"
        ),
    }
    cache.clear()
    cache_breaker.reset()
    yield
    cache_breaker.reset()
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Uploaded files go to a throwaway directory, never into the repository's media/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def user(db: None) -> Any:
    """An active user whose password is `password`-free: use `user_password`."""
    return UserFactory()


@pytest.fixture
def bob(db: None) -> Any:
    """A second user."""
    return UserFactory(username="bob")


@pytest.fixture
def carol(db: None) -> Any:
    """A third user."""
    return UserFactory(username="carol")


@pytest.fixture
def dave(db: None) -> Any:
    """A fourth user."""
    return UserFactory(username="dave")


@pytest.fixture
def fast_password_hashing(settings: Any) -> None:
    """bcrypt at cost 10 costs ~70 ms per user; for tests that never log in with a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_client() -> APIClient:
    """An unauthenticated DRF test client."""
    return APIClient()


def bearer(user: Any) -> str:
    """A fresh access token for `user`, as an Authorization header value."""
    return f"Bearer {RefreshToken.for_user(user).access_token}"


@pytest.fixture
def auth_client(user: Any) -> APIClient:
    """A DRF test client authenticated as `user` with a real JWT."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bearer(user))
    return client


@pytest.fixture
def make_client() -> Any:
    """Factory: an authenticated client for any user."""

    def make(for_user: Any) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=bearer(for_user))
        return client

    return make


@dataclass
class SentEvent:
    """One broadcast that left after commit."""

    group: str
    event: str
    payload: dict[str, Any]


@pytest.fixture
def chat_events(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> list[SentEvent]:
    """Record every broadcast that actually leaves (after a real commit), while still delivering it.

    Uses the transactional database, so on_commit callbacks run when the service's transaction
    commits, exactly as in production, and a rolled-back write records nothing.
    """
    sent: list[SentEvent] = []
    original = realtime.broadcast.send_to_group

    def recording(group: str, event: str, payload: dict[str, Any]) -> None:
        sent.append(SentEvent(group, event, payload))
        original(group, event, payload)

    monkeypatch.setattr(realtime.broadcast, "send_to_group", recording)
    return sent


class ChatOverrides:
    """Sets one chat setting for the test (`chat_overrides.WS_REPLAY_LIMIT = 2`) through settings.CHAT."""

    def __init__(self, settings: Any) -> None:
        object.__setattr__(self, "_settings", settings)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid chat setting: {name!r}")
        settings = object.__getattribute__(self, "_settings")
        settings.CHAT = {**getattr(settings, "CHAT", {}), name: value}

    def __getattr__(self, name: str) -> Any:
        return getattr(chat_settings, name)


@pytest.fixture
def chat_overrides(settings: Any) -> ChatOverrides:
    """The chat's settings (chatproject.conf) for one test, restored after it as `settings` restores Django's."""
    return ChatOverrides(settings)
