"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache object per asyncio context (its CacheHandler is context-local), and Daphne runs
every request in a new context, so each request would build a new RedisCache, a new redis-py connection
pool and a new TCP connection to Redis (what that cost: bench/README.md, issue 12's second step). This
backend shares one RedisCacheClient (its pools are thread-safe, and redis-py
re-creates them in a forked child) among every cache object of the same configuration in the process.
"""

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


class SharedPoolRedisCache(RedisCache):
    """RedisCache whose client (connection pools included) is shared process-wide (see the module)."""

    # Set by RedisCache.__init__ (django-stubs does not declare them).
    _servers: list[str]
    _options: dict[str, Any]
    _class: Any

    @cached_property
    def _cache(self) -> Any:
        key = (
            tuple(self._servers),
            tuple(sorted((name, repr(value)) for name, value in self._options.items())),
        )
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
            return client
