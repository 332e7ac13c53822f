"""Sockets per user: at most WS_MAX_SOCKETS_PER_USER open at once, counted across every process.

With Redis (REDIS_URL set), one sorted set per user, `{chat:sockets}:<user_id>`: one member per open
socket (its channel name), scored with the time its slot expires. Taking a slot first drops expired
members, then adds this socket only if fewer than the cap remain, all in one Lua script on Redis's
clock, so concurrent handshakes on any number of processes cannot pass the cap together. A closed
socket gives its slot back at once; every process refreshes its own sockets' slots every
PRESENCE_HEARTBEAT_SECONDS to now + PRESENCE_TTL_SECONDS (as presence does), so the slots of a process
that died expire on their own.

Without Redis (`make run`, one process), the same bookkeeping lives in this process's memory.
"""

import asyncio
import logging
import threading
import time
import weakref
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from django.conf import settings

from chatproject.conf import chat_settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "{chat:sockets}:"
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError, asyncio.TimeoutError)

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

# KEYS: the user's key. ARGV: conn, ttl seconds, cap. 1 when the socket holds a slot now.
_TAKE = (
    _NOW
    + """
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 2000))
return 1
"""
)

# ARGV: ttl seconds, then key, conn pairs. Extends each slot still held: XX, so a slot given back
# while this ran stays free (a slot lost to a stalled process is not taken back past the cap either).
_REFRESH = (
    _NOW
    + """
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('ZADD', ARGV[i], 'XX', now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', ARGV[i], math.ceil(ttl * 2000))
end
return 0
"""
)


class SocketSlots(Protocol):
    """Where open sockets are counted per user: Redis across processes, or this process's memory."""

    async def take(self, user_id: int, conn: str, cap: int) -> bool:
        """Count the socket if the user has fewer than `cap` open; True when it is counted."""

    async def give_back(self, user_id: int, conn: str) -> None:
        """Stop counting the socket."""

    async def refresh(self, sockets: dict[str, int]) -> None:
        """Extend the expiry of these sockets' slots (conn -> user id)."""


class RedisSocketSlots:
    """Slots in Redis, shared by every process using the same REDIS_URL."""

    def __init__(self, url: str):
        self.url = url
        # redis.asyncio clients are bound to the event loop that created them.
        self._scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def _loop_scripts(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        scripts = self._scripts.get(loop)
        if scripts is None:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
            scripts = {
                "client": client,
                "take": client.register_script(_TAKE),
                "refresh": client.register_script(_REFRESH),
            }
            self._scripts[loop] = scripts
        return scripts

    async def take(self, user_id: int, conn: str, cap: int) -> bool:
        """Count the socket if the user has fewer than `cap` live slots (one atomic script)."""
        ttl = chat_settings.PRESENCE_TTL_SECONDS
        return bool(await self._loop_scripts()["take"](keys=[slots_key(user_id)], args=[conn, ttl, cap]))

    async def give_back(self, user_id: int, conn: str) -> None:
        """Free the socket's slot."""
        await self._loop_scripts()["client"].zrem(slots_key(user_id), conn)

    async def refresh(self, sockets: dict[str, int]) -> None:
        """Extend these sockets' slots to now + PRESENCE_TTL_SECONDS."""
        if not sockets:
            return
        args: list[Any] = [chat_settings.PRESENCE_TTL_SECONDS]
        for conn, user_id in sockets.items():
            args += [slots_key(user_id), conn]
        await self._loop_scripts()["refresh"](keys=[], args=args)


class MemorySocketSlots:
    """Slots in this process's memory: `make run` without Redis is one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[int, dict[str, float]] = {}

    async def take(self, user_id: int, conn: str, cap: int) -> bool:
        """Count the socket if the user has fewer than `cap` live slots here."""
        with self._lock:
            now = time.time()
            slots = {c: expiry for c, expiry in self._slots.get(user_id, {}).items() if expiry > now}
            if conn not in slots and len(slots) >= cap:
                self._slots[user_id] = slots
                return False
            slots[conn] = now + chat_settings.PRESENCE_TTL_SECONDS
            self._slots[user_id] = slots
            return True

    async def give_back(self, user_id: int, conn: str) -> None:
        """Free the socket's slot."""
        with self._lock:
            slots = self._slots.get(user_id, {})
            slots.pop(conn, None)
            if not slots:
                self._slots.pop(user_id, None)

    async def refresh(self, sockets: dict[str, int]) -> None:
        """Extend these sockets' slots."""
        with self._lock:
            expiry = time.time() + chat_settings.PRESENCE_TTL_SECONDS
            for conn, user_id in sockets.items():
                slots = self._slots.get(user_id, {})
                if conn in slots:
                    slots[conn] = expiry


def slots_key(user_id: int) -> str:
    """The Redis key holding one user's socket slots."""
    return f"{KEY_PREFIX}{user_id}"


_stores: dict[str, SocketSlots] = {}
_stores_lock = threading.Lock()


def store() -> SocketSlots:
    """The store for the current settings: Redis when REDIS_URL is set, else this process's memory."""
    url = settings.REDIS_URL
    with _stores_lock:
        found = _stores.get(url)
        if found is None:
            found = _stores[url] = RedisSocketSlots(url) if url else MemorySocketSlots()
        return found


# Per event loop: conn -> user id of the sockets holding a slot here, and the task refreshing them.
_local: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, int]]" = weakref.WeakKeyDictionary()
_tasks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]]" = (
    weakref.WeakKeyDictionary()
)


def _sockets() -> dict[str, int]:
    loop = asyncio.get_running_loop()
    sockets = _local.get(loop)
    if sockets is None:
        sockets = _local[loop] = {}
    return sockets


async def socket_slot_take(*, user_id: int, conn: str) -> bool:
    """Take one of the user's WS_MAX_SOCKETS_PER_USER slots for this socket; False when all are taken.

    A cap of 0 means no cap. If Redis cannot be reached the socket is let in (logged): the cap guards
    against one user hoarding sockets, and the socket's own channel layer decides whether it can work.
    """
    cap = chat_settings.WS_MAX_SOCKETS_PER_USER
    if cap <= 0:
        return True
    try:
        if not await store().take(user_id, conn, cap):
            return False
    except REDIS_ERRORS as exc:
        logger.warning("socket cap unavailable, not counting a socket of user %s: %s", user_id, exc)
        return True
    sockets = _sockets()
    sockets[conn] = user_id
    loop = asyncio.get_running_loop()
    task = _tasks.get(loop)
    if task is None or task.done():
        _tasks[loop] = loop.create_task(_heartbeat(sockets))
    return True


async def socket_slot_give_back(*, conn: str) -> None:
    """Free the slot this socket holds, if it holds one (safe to call more than once).

    If Redis cannot be reached, the slot expires after PRESENCE_TTL_SECONDS: nothing refreshes it now.
    """
    user_id = _sockets().pop(conn, None)
    if user_id is None:
        return
    try:
        await store().give_back(user_id, conn)
    except REDIS_ERRORS as exc:
        logger.warning("socket cap: could not free a slot of user %s: %s", user_id, exc)


async def _heartbeat(sockets: dict[str, int]) -> None:
    while sockets:
        await asyncio.sleep(chat_settings.PRESENCE_HEARTBEAT_SECONDS)
        try:
            await store().refresh(dict(sockets))
        except REDIS_ERRORS as exc:
            logger.warning("socket cap heartbeat failed: %s", exc)
        except Exception:
            logger.exception("socket cap heartbeat failed")
