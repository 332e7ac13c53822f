"""Fixtures for chat and message tests: a few more users."""

from typing import Any

import pytest

from accounts.tests.factories import UserFactory


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


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """bcrypt at cost 10 costs ~70 ms per user; these tests never log in with a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
