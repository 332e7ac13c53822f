"""What a user's save and delete do to their sessions and history, whichever path made the change.

User.save() (accounts.models) asks pending_change() what the save changes, against the row as stored
(locked FOR UPDATE, so a stale instance or a racing change cannot hide one), and apply_change() does
the rest in the same transaction:
- a new password hash moves the credentials generation on: every session's tokens of an earlier
  generation stop (accounts.sessions), but those of the session passed to User.change_password()
  (the API's own change); the other sessions' refresh tokens are blacklisted and, once committed,
  their sockets close with 4410. Django's transparent rehash of the same password is no change.
- a deactivation (is_active true -> false) blacklists every refresh token and, once committed, closes
  every socket of the user with 4403; access tokens stop because authentication reads `is_active`.
A user's deletion is a pre_delete receiver that spans apps: actions.users.

QuerySet.update() sends no signal and calls no save(): it bypasses all of this, as Django documents;
use save() or the services for users.
"""

from dataclasses import dataclass
from typing import Any

from accounts.models import User
from accounts.sessions import refresh_tokens_revoke
from realtime.broadcast import broadcast_on_commit
from realtime.groups import user_group
from realtime.protocol.event_types import ServerEvent


@dataclass(frozen=True)
class Change:
    """What a save of an existing user changes that ends sessions."""

    password: bool = False
    deactivated: bool = False
    keep_session: str = ""


NO_CHANGE = Change()


def pending_change(user: User, update_fields: Any) -> Change:
    """What saving `user` now would change (needs a transaction: locks the user's row).

    Sets the new credentials generation on `user` when its password hash changes.
    """

    def saves(field: str) -> bool:
        return update_fields is None or field in update_fields

    checks_password = saves("password") and "password" in user.__dict__ and not user._rehashing
    checks_active = saves("is_active") and "is_active" in user.__dict__ and not user.is_active
    if not (checks_password or checks_active):
        return NO_CHANGE
    stored = (
        User.objects.select_for_update()
        .filter(pk=user.pk)
        .values_list("password", "is_active", "credentials_generation")
        .first()
    )
    if stored is None:
        return NO_CHANGE  # not saved yet, or deleted meanwhile: no session to end
    password, active, generation = stored
    change = Change(
        password=checks_password and user.password != password,
        deactivated=checks_active and active,
        keep_session=user._keep_session,
    )
    if change.password:
        # From the stored generation, so a stale instance cannot move it back.
        user.credentials_generation = generation + 1
        user.credentials_session = change.keep_session
    return change


def apply_change(user: User, change: Change) -> None:
    """Blacklist what `change` ends and close the sockets once committed (inside the save's transaction)."""
    if change.deactivated:
        refresh_tokens_revoke(user)
        broadcast_on_commit(user_group(user.pk), ServerEvent.ACCOUNT_DISABLED, {"user_id": user.pk})
    elif change.password:
        refresh_tokens_revoke(user, keep_session=change.keep_session)
        payload = {"user_id": user.pk, "keep_session": change.keep_session}
        broadcast_on_commit(user_group(user.pk), ServerEvent.SESSIONS_REVOKED, payload)
