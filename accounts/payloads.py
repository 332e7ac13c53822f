"""User -> JSON-ready dict."""

from typing import Any

from accounts.models import User


def user_payload(user: User) -> dict[str, Any]:
    """The seed's user shape: {id, username, email}."""
    return {"id": user.pk, "username": user.username, "email": user.email}


def user_public_payload(user: User) -> dict[str, Any]:
    """What other users may see of an account: {id, username}, never the email."""
    return {"id": user.pk, "username": user.username}
