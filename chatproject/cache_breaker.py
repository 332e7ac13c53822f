"""The cache's fail-open users (the request's user, the send budget) skip it for a while after it fails.

Both can do without Redis: the user is read from the database, a send is let through uncounted. But
each call to a hung Redis waits out the cache's socket timeout (2 s), and a request makes both calls, so
an outage would cost every request twice that. After a failure, this process skips those uses for
SKIP_SECONDS and then tries again. Throttles on login and registration are not among them: they refuse
(503) rather than go unchecked.
"""

import logging
import time

logger = logging.getLogger(__name__)

SKIP_SECONDS = 10.0
_skip_until = 0.0


def cache_usable() -> bool:
    """False for SKIP_SECONDS after the last reported failure."""
    return time.monotonic() >= _skip_until


def cache_failed(what: str, exc: BaseException) -> None:
    """Report a failed cache call by one of the fail-open users; they skip the cache for SKIP_SECONDS."""
    global _skip_until
    _skip_until = time.monotonic() + SKIP_SECONDS
    logger.warning("cache unavailable (%s): skipping it for %ss: %s", what, SKIP_SECONDS, exc)


def reset() -> None:
    """Use the cache again at once (tests start each from a working cache)."""
    global _skip_until
    _skip_until = 0.0
