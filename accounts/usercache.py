"""The authenticated user of a request without a database query: a cache the user's changes invalidate.

Reading the user's row on every authenticated request costs more than the cache read (bench/README.md
measures it). The row, without the password hash, is kept in the cache (Redis when REDIS_URL
is set, so every process shares it) next to a *generation* key. Any save or delete of the user (a ban,
deactivation, deletion, password or profile change, through services or the admin) writes a new
generation at once and again when its transaction commits; an entry whose generation is not the
current one is a miss. A request that read the row just before a ban committed therefore cannot keep
the stale row alive: the commit's new generation outdates it.

What stays on the database: every write re-reads the user under a row lock (accounts.selectors.
user_lock_active), and the WebSocket handshake reads the row; only the per-request identity comes from
here. A change made with QuerySet.update() sends no signal; entries live at most ENTRY_SECONDS, which
bounds how long such a change goes unseen. The password field is deferred: reading it costs a query.
"""

import logging
import secrets
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accounts.models import User
from chatproject.cache_breaker import cache_failed, cache_usable

logger = logging.getLogger(__name__)

ENTRY_SECONDS = 300
# Every concrete field but the password hash, which has no place in a shared cache.
_FIELDS = [field.attname for field in User._meta.concrete_fields if field.attname != "password"]


def _keys(user_id: int) -> tuple[str, str]:
    return f"authuser:{user_id}", f"authgen:{user_id}"


def _row_to_user(row: tuple[Any, ...]) -> User:
    return User.from_db("default", _FIELDS, row)


def user_by_id(user_id: int) -> User | None:
    """The user with this id as of now (active or not), or None if there is none.

    An unreachable cache costs a query, not the request; after a failure the cache is skipped for a
    while (chatproject.cache_breaker), so a hung Redis does not add its timeout to every request.
    """
    entry_key, generation_key = _keys(user_id)
    found = None
    if cache_usable():
        try:
            found = cache.get_many([entry_key, generation_key])
        except Exception as exc:
            cache_failed("user cache", exc)
    if found is not None:
        generation = found.get(generation_key)
        entry = found.get(entry_key)
        if entry is not None and entry[0] == generation:
            return _row_to_user(entry[1])
    row = User.objects.filter(pk=user_id).values_list(*_FIELDS).first()
    if row is None:
        return None
    if found is not None:
        # Stored with the generation read *before* the row: a change in between outdates it.
        try:
            cache.set(entry_key, (found.get(generation_key), row), ENTRY_SECONDS)
        except Exception as exc:
            cache_failed("user cache", exc)
    return _row_to_user(row)


def user_changed(user_id: int) -> None:
    """Outdate the cached row now and again when the current transaction commits."""
    _new_generation(user_id)
    transaction.on_commit(lambda: _new_generation(user_id))


def _new_generation(user_id: int) -> None:
    try:
        # Outlives any entry written under the previous generation.
        cache.set(_keys(user_id)[1], secrets.token_hex(8), ENTRY_SECONDS * 2)
    except Exception as exc:
        logger.error("could not invalidate the cached user %s: %s", user_id, exc)


def _on_user_saved_or_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    if instance.pk is not None:
        user_changed(instance.pk)


def connect_signals() -> None:
    """Outdate a user's cached row on every save and delete (AccountsConfig.ready)."""
    post_save.connect(_on_user_saved_or_deleted, sender=User, dispatch_uid="usercache-save")
    post_delete.connect(_on_user_saved_or_deleted, sender=User, dispatch_uid="usercache-delete")
