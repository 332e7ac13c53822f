"""User -> JSON-ready dict."""

from typing import Any

from accounts.models import User


def user_payload(user: User) -> dict[str, Any]:
    """The seed's user shape: {id, username, email}."""
    return {"id": user.pk, "username": user.username, "email": user.email}
