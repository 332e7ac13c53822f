"""Chat and message tests create many users and never log in with a password: hash fast."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(fast_password_hashing: None) -> None:
    """Apply the root conftest's fast hasher to every test here."""
