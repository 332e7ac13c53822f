"""Where open sockets are recorded: Redis, shared by every process (REDIS_URL set), or this process's
memory (`make run` without Redis is one process). Both keep the same books; realtime.registry.scripts
describes the Redis keys and decides each transition.
"""

import asyncio
import enum
import threading
import time
import weakref
from collections.abc import Collection
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from django.conf import settings

from chatproject.conf import chat_settings
from chatproject.errors import REDIS_ERRORS
from realtime.registry import scripts

KEY_PREFIX = "{chat:sockets}:"
USERS_KEY = f"{KEY_PREFIX}users"
# Users swept per heartbeat at most; the rest wait for the next one.
SWEEP_BATCH = 500

# The registry's failures are Redis outages (chatproject.errors); re-exported for its callers.
__all__ = ["REDIS_ERRORS", "Opened", "Registry", "current", "user_key"]


class Opened(enum.IntEnum):
    """What opening a socket decided (the OPEN script's answer)."""

    REFUSED = 0  # the user holds WS_MAX_SOCKETS_PER_USER sockets already
    OPENED = 1
    CAME_ONLINE = 2  # opened, and the user was not announced online before


class Registry(Protocol):
    """The books of open sockets: the per-user cap and who is online, decided together."""

    async def open(self, user_id: int, conn: str, cap: int) -> Opened:
        """Record a socket unless the user holds `cap` already (0: no cap)."""

    async def close(self, user_id: int, conn: str) -> bool:
        """Forget a socket; True when it was the user's last live one (now offline)."""

    async def hand_over(self, sockets: dict[str, int], grace: float) -> None:
        """Forget these sockets (conn -> user id) of a stopping process, in one call; a user left with
        none stays announced online for `grace` seconds, time to reconnect elsewhere."""

    async def refresh(self, sockets: dict[str, int]) -> list[str]:
        """Extend the expiry of these sockets; return the conns no longer recorded (swept meanwhile)."""

    async def sweep(self) -> list[int]:
        """Drop expired sockets; return the users who have none left (now offline)."""

    def online(self, user_ids: Collection[int]) -> set[int]:
        """Which of these users are online now (one round trip; callable from any thread)."""


def user_key(user_id: int) -> str:
    """The Redis key holding one user's open sockets."""
    return f"{KEY_PREFIX}{user_id}"


class RedisRegistry:
    """The registry in Redis, shared by every process using the same REDIS_URL."""

    def __init__(self, url: str):
        self.url = url
        self._sync = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._read = self._sync.register_script(scripts.READ)
        # redis.asyncio clients are bound to the event loop that created them.
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def _scripts(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        found = self._async.get(loop)
        if found is None:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=2)
            found = {
                "open": client.register_script(scripts.OPEN),
                "close": client.register_script(scripts.CLOSE),
                "hand_over": client.register_script(scripts.HAND_OVER),
                "refresh": client.register_script(scripts.REFRESH),
                "sweep": client.register_script(scripts.SWEEP),
            }
            self._async[loop] = found
        return found

    async def open(self, user_id: int, conn: str, cap: int) -> Opened:
        ttl = chat_settings.PRESENCE_TTL_SECONDS
        keys = [user_key(user_id), USERS_KEY]
        return Opened(int(await self._scripts()["open"](keys=keys, args=[conn, ttl, cap, user_id])))

    async def close(self, user_id: int, conn: str) -> bool:
        keys = [user_key(user_id), USERS_KEY]
        return bool(await self._scripts()["close"](keys=keys, args=[conn, user_id]))

    async def hand_over(self, sockets: dict[str, int], grace: float) -> None:
        if not sockets:
            return
        args: list[Any] = [grace, KEY_PREFIX]
        for conn, user_id in sockets.items():
            args += [conn, user_id]
        await self._scripts()["hand_over"](keys=[USERS_KEY], args=args)

    async def refresh(self, sockets: dict[str, int]) -> list[str]:
        if not sockets:
            return []
        args: list[Any] = [chat_settings.PRESENCE_TTL_SECONDS, KEY_PREFIX]
        for conn, user_id in sockets.items():
            args += [conn, user_id]
        missing = await self._scripts()["refresh"](keys=[USERS_KEY], args=args)
        return [m.decode() if isinstance(m, bytes) else str(m) for m in missing]

    async def sweep(self) -> list[int]:
        gone = await self._scripts()["sweep"](keys=[USERS_KEY], args=[KEY_PREFIX, SWEEP_BATCH])
        return [int(user_id) for user_id in gone]

    def online(self, user_ids: Collection[int]) -> set[int]:
        ids = list(user_ids)
        if not ids:
            return set()
        flags = self._read(keys=[USERS_KEY], args=ids)
        return {user_id for user_id, flag in zip(ids, flags, strict=True) if flag}


class MemoryRegistry:
    """The registry in this process's memory, with the same books as the scripts keep."""

    def __init__(self) -> None:
        # REST reads run in worker threads, socket events on the event loop.
        self._lock = threading.Lock()
        self._conns: dict[int, dict[str, float]] = {}
        self._users: dict[int, float] = {}  # announced online -> latest expiry

    def _live(self, user_id: int, now: float) -> dict[str, float]:
        conns = self._conns.setdefault(user_id, {})
        for conn in [c for c, expiry in conns.items() if expiry <= now]:
            del conns[conn]
        return conns

    async def open(self, user_id: int, conn: str, cap: int) -> Opened:
        with self._lock:
            now = time.time()
            conns = self._live(user_id, now)
            if 0 < cap <= len(conns) and conn not in conns:
                return Opened.REFUSED
            expiry = now + chat_settings.PRESENCE_TTL_SECONDS
            conns[conn] = expiry
            announced = user_id in self._users
            self._users[user_id] = max(self._users.get(user_id, 0.0), expiry)
            return Opened.OPENED if announced else Opened.CAME_ONLINE

    async def close(self, user_id: int, conn: str) -> bool:
        with self._lock:
            conns = self._live(user_id, time.time())
            conns.pop(conn, None)
            if conns:
                self._users[user_id] = max(conns.values())
                return False
            self._conns.pop(user_id, None)
            return self._users.pop(user_id, None) is not None

    async def hand_over(self, sockets: dict[str, int], grace: float) -> None:
        with self._lock:
            now = time.time()
            for conn, user_id in sockets.items():
                conns = self._live(user_id, now)
                conns.pop(conn, None)
                if user_id in self._users:
                    self._users[user_id] = max(conns.values()) if conns else now + grace

    async def refresh(self, sockets: dict[str, int]) -> list[str]:
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
        gone = []
        with self._lock:
            now = time.time()
            for user_id in [u for u, expiry in self._users.items() if expiry <= now]:
                conns = self._live(user_id, now)
                if conns:
                    self._users[user_id] = max(conns.values())
                else:
                    del self._users[user_id]
                    self._conns.pop(user_id, None)
                    gone.append(user_id)
        return gone

    def online(self, user_ids: Collection[int]) -> set[int]:
        with self._lock:
            now = time.time()
            return {user_id for user_id in user_ids if self._users.get(user_id, 0.0) > now}


_registries: dict[str, Registry] = {}
_registries_lock = threading.Lock()


def current() -> Registry:
    """The registry for the current settings: Redis when REDIS_URL is set, else this process's memory."""
    url = settings.REDIS_URL
    with _registries_lock:
        found = _registries.get(url)
        if found is None:
            found = _registries[url] = RedisRegistry(url) if url else MemoryRegistry()
        return found
