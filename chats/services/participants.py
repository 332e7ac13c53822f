"""Who a chat write names: ids de-duplicated, active users locked before the chat row."""

from collections.abc import Iterable

from accounts.errors import UserNotFoundError
from accounts.selectors import users_lock_active
from chatproject.fields import is_bigint_id


def _unique(ids: Iterable[int]) -> list[int]:
    """De-duplicate, keeping the first occurrence's order."""
    return list(dict.fromkeys(ids))


def _lock_active_users(user_ids: list[int]) -> set[int]:
    """The ids in `user_ids` that are active users, their rows locked (accounts.selectors.users_lock_active)."""
    return users_lock_active(user_ids=[uid for uid in user_ids if is_bigint_id(uid)])


def _require_active_users(user_ids: list[int], *, field: str, found: set[int] | None = None) -> None:
    """Raise UserNotFoundError naming every id in `field` that is not an active user.

    `found` is what _lock_active_users returned, when the caller locked them earlier; else they are
    locked now. A user being deleted meanwhile is waited for and then not found (404, not a 500 from
    the new row's foreign key).
    """
    if found is None:
        found = _lock_active_users(user_ids)
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        raise UserNotFoundError(
            f"user not found: {', '.join(map(str, missing))}", fields={field: [str(uid) for uid in missing]}
        )
