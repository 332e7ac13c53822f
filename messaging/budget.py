"""Per-user budgets across every transport, socket and process: THROTTLE_SEND and THROTTLE_REACT.

THROTTLE_SEND counts messages sent and edits made; THROTTLE_REACT counts reactions added and removed.
Each is a sliding window over two fixed-window counters in the default cache (Redis when REDIS_URL is
set, so every process shares them; this process's memory otherwise). Each spend is one atomic INCR of
the current window's counter; it is allowed when that count plus the previous window's count, weighted
by how much of the previous window still overlaps the sliding one, stays within the limit. Counts only
grow between a spend's increment and its check, so concurrent spends cannot both take the last unit.
A refused or refunded spend gives its unit back (DECR): the budget counts what was done.
"""

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from typing import Any, cast

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings

from chatproject.cache_breaker import cache_failed, cache_usable
from chatproject.conf import chat_settings
from chatproject.errors import REDIS_ERRORS, RateLimitedError

logger = logging.getLogger(__name__)

SCOPE = "send"
REACT_SCOPE = "react"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: object) -> tuple[int, int] | None:
    """The rate "120/min" as (120, 60); None for an empty rate (no budget)."""
    if not rate:
        return None
    count, period = str(rate).split("/")
    return int(count), _PERIODS[period[0]]


def send_rate() -> tuple[int, int] | None:
    """THROTTLE_SEND as (messages, seconds), read at call time; None when it is unset (no budget)."""
    return parse_rate(api_settings.DEFAULT_THROTTLE_RATES.get(SCOPE))


def react_rate() -> tuple[int, int] | None:
    """THROTTLE_REACT as (reaction changes, seconds), read at call time; None when it is empty."""
    return parse_rate(chat_settings.THROTTLE_REACT)


def _key(user_id: int, window: int, scope: str = SCOPE) -> str:
    return f"{scope}-budget:{user_id}:{window}"


class Spend:
    """One unit of a user's budget, taken; refund() gives it back (at most once)."""

    def __init__(self, key: str | None) -> None:
        self._key = key

    def refund(self) -> None:
        """Give the unit back: what it was taken for stored nothing."""
        key, self._key = self._key, None
        # ValueError: the window's counter expired; a cache outage: nothing to give back either.
        if key is not None:
            with suppress(ValueError, *REDIS_ERRORS):
                cache.decr(key)


@dataclass(frozen=True)
class Budget:
    """One kind of per-user budget: the scope naming its counters, and its rate read at call time."""

    scope: str
    rate: Callable[[], tuple[int, int] | None]

    def take(self, *, user_id: int) -> Spend:
        """Take one unit of the user's budget.

        Raises RateLimitedError (with retry_after in whole seconds) when the budget is spent. If the
        cache cannot be reached the spend is let through (logged): the budget guards against floods, and
        a cache outage must not stop messages being stored.
        """
        rate = self.rate()
        if rate is None:
            return Spend(None)
        limit, period = rate
        if not cache_usable():
            return Spend(None)  # the cache failed moments ago: let the spend through uncounted at once
        now = time.time()
        window = int(now // period)
        key = _key(user_id, window, self.scope)
        try:
            # The counter outlives its window by one period: the next window weighs it.
            count, previous = _spend_counts(
                key, _key(user_id, window - 1, self.scope), timeout=2 * period + 1
            )
        except REDIS_ERRORS as exc:
            cache_failed(f"{self.scope} budget", exc)
            return Spend(None)
        spend = Spend(key)
        elapsed = now / period - window  # fraction of the current window gone
        if previous * (1 - elapsed) + count <= limit:
            return spend
        spend.refund()
        raise RateLimitedError(retry_after=_retry_after(limit, period, elapsed, count - 1, previous))

    @contextmanager
    def spent(self, *, user_id: int) -> Iterator[Spend]:
        """Take a unit for the block; give it back if the block raises (nothing was done).

        Raises RateLimitedError.
        """
        spend = self.take(user_id=user_id)
        try:
            yield spend
        except BaseException:
            spend.refund()
            raise


SEND_BUDGET = Budget(SCOPE, send_rate)
REACT_BUDGET = Budget(REACT_SCOPE, react_rate)


def send_budget_take(*, user_id: int) -> Spend:
    """Take one unit of the user's THROTTLE_SEND budget. Raises RateLimitedError (see Budget.take)."""
    return SEND_BUDGET.take(user_id=user_id)


def _spend_counts(key: str, previous_key: str, *, timeout: int) -> tuple[int, int]:
    """Count one spend in `key` (created with `timeout`); (its new count, `previous_key`'s count).

    On Redis one pipelined round trip (INCR, EXPIRE, GET) instead of Django's four (add, then incr's
    EXISTS and INCR, then get), which cost a send more CPU than anything else it does (bench/README.md).
    The keys and values are the ones Django's cache API writes and reads (integers are
    stored as such), so refund()'s cache.decr and the non-Redis path count the same counters.
    """
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key), cache.get(previous_key, 0)
    current = backend.make_and_validate_key(key)
    # RedisCache's client (Django's RedisCacheClient, undeclared in django-stubs) gives the redis-py client.
    client = cast(Any, backend)._cache.get_client(current, write=True)
    pipe = client.pipeline(transaction=False)
    pipe.incr(current)
    # Every spend sets the expiry again, so no counter is ever left without one.
    pipe.expire(current, timeout)
    pipe.get(backend.make_and_validate_key(previous_key))
    count, _, previous = pipe.execute()
    return int(count), int(previous or 0)


def _retry_after(limit: int, period: int, elapsed: float, current: int, previous: int) -> int:
    """Seconds until one more spend fits, if nobody else spends meanwhile (at least 1)."""
    if current + 1 > limit:
        # The current window alone is full: wait for it to end, then for its weight to shrink enough.
        wait = (1 - elapsed) + max(0.0, 1 - (limit - 1) / current)
    else:
        # The previous window's weight is what is over: wait until it has shrunk enough.
        wait = max(0.0, 1 - (limit - 1 - current) / previous) - elapsed if previous else 0.0
    return max(1, math.ceil(wait * period))


def send_budget(*, user_id: int) -> AbstractContextManager[Spend]:
    """A THROTTLE_SEND unit for the block, given back if the block raises. Raises RateLimitedError."""
    return SEND_BUDGET.spent(user_id=user_id)


def react_budget(*, user_id: int) -> AbstractContextManager[Spend]:
    """A THROTTLE_REACT unit for the block, given back if the block raises. Raises RateLimitedError."""
    return REACT_BUDGET.spent(user_id=user_id)
