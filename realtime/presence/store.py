"""Presence bookkeeping: the Redis and in-memory stores of open sockets, and the Lua scripts behind them.

A user is online while at least one of their sockets is open, in any process. With Redis (REDIS_URL set), two sorted sets under one hash tag (so a Redis Cluster keeps them in one slot):

- `{chat:presence}:conn:<user_id>`: one member per open socket (its channel name), scored with the
  time that socket's entry expires;
- `{chat:presence}:users`: the users announced online, each scored with the latest expiry of their sockets.

Every process refreshes the expiry of its own sockets every PRESENCE_HEARTBEAT_SECONDS to now +
PRESENCE_TTL_SECONDS, so the entries of a process that died (SIGKILL, lost machine) stop being
refreshed. Each heartbeat also sweeps the users whose latest expiry has passed: their sockets were
held by a dead process. Every transition (first socket opened, last socket closed, last socket
expired) is decided inside one Lua script that uses Redis's clock, so exactly one process announces
it and the processes' own clocks do not matter.

Without Redis (`make run`), the same bookkeeping lives in this process's memory.
"""

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Collection
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from django.conf import settings

from chatproject.conf import chat_settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "{chat:presence}"
USERS_KEY = f"{KEY_PREFIX}:users"
CONN_KEY_PREFIX = f"{KEY_PREFIX}:conn:"
# Users swept per heartbeat at most; the rest wait for the next one.
SWEEP_BATCH = 500

REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError, asyncio.TimeoutError)

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

# KEYS: conn key, users key. ARGV: conn, ttl seconds, user id. 1 when the user was not online before.
_ADD = (
    _NOW
    + """
local expiry = now + tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 2000))
local score = redis.call('ZSCORE', KEYS[2], ARGV[3])
if (not score) or tonumber(score) < expiry then redis.call('ZADD', KEYS[2], expiry, ARGV[3]) end
if score then return 0 end
return 1
"""
)

# KEYS: conn key, users key. ARGV: conn, user id. 1 when that was the user's last live socket.
_REMOVE = (
    _NOW
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last == 0 then return redis.call('ZREM', KEYS[2], ARGV[2]) end
redis.call('ZADD', KEYS[2], last[2], ARGV[2])
return 0
"""
)

# KEYS: users key. ARGV: ttl seconds, conn key prefix, then conn, user id pairs.
# Refreshes the sockets still registered; returns the conns that were not (a sweep removed them).
_REFRESH = (
    _NOW
    + """
local ttl = tonumber(ARGV[1])
local expiry = now + ttl
local missing = {}
for i = 3, #ARGV, 2 do
  local conn, uid = ARGV[i], ARGV[i + 1]
  local key = ARGV[2] .. uid
  local score = redis.call('ZSCORE', KEYS[1], uid)
  if score and redis.call('ZSCORE', key, conn) then
    redis.call('ZADD', key, expiry, conn)
    redis.call('PEXPIRE', key, math.ceil(ttl * 2000))
    if tonumber(score) < expiry then redis.call('ZADD', KEYS[1], expiry, uid) end
  else
    redis.call('ZREM', key, conn)
    table.insert(missing, conn)
  end
end
return missing
"""
)

# KEYS: users key. ARGV: conn key prefix, batch size. Returns the users whose sockets all expired.
_SWEEP = (
    _NOW
    + """
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local gone = {}
for _, uid in ipairs(stale) do
  local key = ARGV[1] .. uid
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('ZREM', KEYS[1], uid)
    table.insert(gone, uid)
  else
    redis.call('ZADD', KEYS[1], last[2], uid)
  end
end
return gone
"""
)

# KEYS: users key. ARGV: user ids. 1 or 0 per user: online now.
_READ = (
    _NOW
    + """
local out = {}
for i, uid in ipairs(ARGV) do
  local score = redis.call('ZSCORE', KEYS[1], uid)
  if score and tonumber(score) > now then out[i] = 1 else out[i] = 0 end
end
return out
"""
)


class PresenceStore(Protocol):
    """Where open sockets are counted: Redis across processes, or this process's memory."""

    async def add(self, user_id: int, conn: str) -> bool:
        """Register a socket; True when the user was not online before."""

    async def remove(self, user_id: int, conn: str) -> bool:
        """Forget a socket; True when it was the user's last live one."""

    async def refresh(self, sockets: dict[str, int]) -> list[str]:
        """Extend the expiry of these sockets (conn -> user id); return the conns no longer registered."""

    async def sweep(self) -> list[int]:
        """Drop expired sockets; return the users who have none left (now offline)."""

    def online(self, user_ids: Collection[int]) -> set[int]:
        """Which of these users are online now (one round trip)."""


class RedisPresence:
    """Presence in Redis, shared by every process using the same REDIS_URL."""

    def __init__(self, url: str):
        self.url = url
        self._sync = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._read = self._sync.register_script(_READ)
        # redis.asyncio clients are bound to the event loop that created them.
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def _scripts(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        scripts = self._async.get(loop)
        if scripts is None:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
            scripts = {
                name: client.register_script(source)
                for name, source in (
                    ("add", _ADD),
                    ("remove", _REMOVE),
                    ("refresh", _REFRESH),
                    ("sweep", _SWEEP),
                )
            }
            self._async[loop] = scripts
        return scripts

    async def add(self, user_id: int, conn: str) -> bool:
        """Register a socket; True when the user was not online before."""
        ttl = chat_settings.PRESENCE_TTL_SECONDS
        result = await self._scripts()["add"](keys=[conn_key(user_id), USERS_KEY], args=[conn, ttl, user_id])
        return bool(result)

    async def remove(self, user_id: int, conn: str) -> bool:
        """Forget a socket; True when it was the user's last live one."""
        result = await self._scripts()["remove"](keys=[conn_key(user_id), USERS_KEY], args=[conn, user_id])
        return bool(result)

    async def refresh(self, sockets: dict[str, int]) -> list[str]:
        """Extend the expiry of these sockets; return the conns no longer registered."""
        if not sockets:
            return []
        args: list[Any] = [chat_settings.PRESENCE_TTL_SECONDS, CONN_KEY_PREFIX]
        for conn, user_id in sockets.items():
            args += [conn, user_id]
        missing = await self._scripts()["refresh"](keys=[USERS_KEY], args=args)
        return [m.decode() if isinstance(m, bytes) else str(m) for m in missing]

    async def sweep(self) -> list[int]:
        """Drop expired sockets; return the users who have none left."""
        gone = await self._scripts()["sweep"](keys=[USERS_KEY], args=[CONN_KEY_PREFIX, SWEEP_BATCH])
        return [int(user_id) for user_id in gone]

    def online(self, user_ids: Collection[int]) -> set[int]:
        """Which of these users are online now, in one round trip."""
        ids = list(user_ids)
        if not ids:
            return set()
        flags = self._read(keys=[USERS_KEY], args=ids)
        return {user_id for user_id, flag in zip(ids, flags, strict=True) if flag}


class MemoryPresence:
    """Presence in this process's memory: `make run` without Redis is one process."""

    def __init__(self) -> None:
        # REST reads run in worker threads, socket events on the event loop.
        self._lock = threading.Lock()
        self._conns: dict[int, dict[str, float]] = {}
        self._users: dict[int, float] = {}

    def _prune(self, user_id: int, now: float) -> dict[str, float]:
        conns = self._conns.setdefault(user_id, {})
        for conn in [c for c, expiry in conns.items() if expiry <= now]:
            del conns[conn]
        return conns

    async def add(self, user_id: int, conn: str) -> bool:
        """Register a socket; True when the user was not online before."""
        with self._lock:
            now = time.time()
            expiry = now + chat_settings.PRESENCE_TTL_SECONDS
            self._prune(user_id, now)[conn] = expiry
            first = user_id not in self._users
            self._users[user_id] = max(self._users.get(user_id, 0.0), expiry)
            return first

    async def remove(self, user_id: int, conn: str) -> bool:
        """Forget a socket; True when it was the user's last live one."""
        with self._lock:
            conns = self._prune(user_id, time.time())
            conns.pop(conn, None)
            if conns:
                self._users[user_id] = max(conns.values())
                return False
            self._conns.pop(user_id, None)
            return self._users.pop(user_id, None) is not None

    async def refresh(self, sockets: dict[str, int]) -> list[str]:
        """Extend the expiry of these sockets; return the conns no longer registered."""
        missing = []
        with self._lock:
            expiry = time.time() + chat_settings.PRESENCE_TTL_SECONDS
            for conn, user_id in sockets.items():
                conns = self._conns.get(user_id, {})
                if user_id in self._users and conn in conns:
                    conns[conn] = expiry
                    self._users[user_id] = max(self._users[user_id], expiry)
                else:
                    conns.pop(conn, None)
                    missing.append(conn)
        return missing

    async def sweep(self) -> list[int]:
        """Drop expired sockets; return the users who have none left."""
        gone = []
        with self._lock:
            now = time.time()
            for user_id in [u for u, expiry in self._users.items() if expiry <= now]:
                conns = self._prune(user_id, now)
                if conns:
                    self._users[user_id] = max(conns.values())
                else:
                    del self._users[user_id]
                    self._conns.pop(user_id, None)
                    gone.append(user_id)
        return gone

    def online(self, user_ids: Collection[int]) -> set[int]:
        """Which of these users are online now."""
        with self._lock:
            now = time.time()
            return {user_id for user_id in user_ids if self._users.get(user_id, 0.0) > now}


def conn_key(user_id: int) -> str:
    """The Redis key holding one user's sockets."""
    return f"{CONN_KEY_PREFIX}{user_id}"


_stores: dict[str, PresenceStore] = {}
_stores_lock = threading.Lock()


def current() -> PresenceStore:
    """The store for the current settings: Redis when REDIS_URL is set, else this process's memory."""
    url = settings.REDIS_URL
    with _stores_lock:
        found = _stores.get(url)
        if found is None:
            found = _stores[url] = RedisPresence(url) if url else MemoryPresence()
        return found
