"""Presence reads for the REST API: which users are online now. The only presence module domain apps import."""

import logging
from collections.abc import Collection

from realtime.registry import store

logger = logging.getLogger(__name__)


def online_user_ids(user_ids: Collection[int]) -> set[int]:
    """Which of these users are online now: one Redis round trip whatever their number.

    When Redis cannot be reached, nobody is shown online (logged): a read must not fail on presence.
    """
    try:
        return store.current().online(user_ids)
    except store.REDIS_ERRORS as exc:
        logger.warning("presence unavailable, showing everyone offline: %s", exc)
        return set()
