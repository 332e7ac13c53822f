"""One registry of open sockets, across every process: it decides both the per-user cap
(WS_MAX_SOCKETS_PER_USER) and who is online, with one record per socket.

- scripts: the Redis keys and the Lua script behind each decision (open, close, hand over, refresh,
  sweep, read);
- store: the Redis registry and the in-memory one of `make run` without Redis;
- this module: this process's sockets and their one heartbeat. Opening a socket costs one round trip
  and answers both questions (refused by the cap? the user's first socket?); closing costs one.

Every process refreshes its own sockets every PRESENCE_HEARTBEAT_SECONDS to now + PRESENCE_TTL_SECONDS,
so the sockets of a process that died stop counting after the TTL; each heartbeat also sweeps users
whose sockets all expired. A process stopping on SIGTERM hands all its sockets over in one call before
closing them with 1012, so their clients find their slots free when they reconnect elsewhere.

What a transition means to other users (a `presence` event) is realtime.presence's policy, passed in as
`announce`.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chatproject.conf import chat_settings
from realtime.registry import store
from realtime.registry.store import REDIS_ERRORS, Opened

logger = logging.getLogger(__name__)

# A user's online state changed: (user id, online). Called for transitions the heartbeat finds.
Announce = Callable[[int, bool], Awaitable[None]]


@dataclass
class _LoopSockets:
    """The sockets recorded from one event loop (conn -> user id), and its heartbeat."""

    sockets: dict[str, int] = field(default_factory=dict)
    announce: Announce | None = None
    heartbeat: "asyncio.Task[None] | None" = None


_loops: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSockets]" = weakref.WeakKeyDictionary()


def local() -> _LoopSockets:
    """This event loop's sockets."""
    loop = asyncio.get_running_loop()
    found = _loops.get(loop)
    if found is None:
        found = _loops[loop] = _LoopSockets()
    return found


def local_sockets() -> dict[str, int]:
    """This event loop's open sockets: channel name -> user id."""
    return local().sockets


async def open_socket(*, user_id: int, conn: str, announce: Announce) -> Opened:
    """Record a socket, unless its user already holds WS_MAX_SOCKETS_PER_USER (0: no cap).

    If Redis cannot be reached the socket is let in (logged) and recorded here only: the cap guards
    against one user hoarding sockets, and the heartbeat records it once Redis answers again.
    """
    try:
        opened = await store.current().open(user_id, conn, chat_settings.WS_MAX_SOCKETS_PER_USER)
    except REDIS_ERRORS as exc:
        logger.warning("socket registry unavailable, a socket of user %s is not counted: %s", user_id, exc)
        opened = Opened.OPENED
    if opened is Opened.REFUSED:
        return opened
    mine = local()
    mine.sockets[conn] = user_id
    mine.announce = announce
    if mine.heartbeat is None or mine.heartbeat.done():
        mine.heartbeat = asyncio.get_running_loop().create_task(_heartbeat(mine))
    return opened


async def close_socket(*, conn: str) -> bool:
    """Forget a socket (safe to call more than once); True when it was its user's last anywhere.

    If Redis cannot be reached, its record expires after PRESENCE_TTL_SECONDS and a sweep announces it.
    """
    user_id = local().sockets.pop(conn, None)
    if user_id is None:
        return False  # never recorded, already closed, or handed over
    try:
        return await store.current().close(user_id, conn)
    except REDIS_ERRORS as exc:
        logger.warning("socket registry: could not forget a socket of user %s: %s", user_id, exc)
        return False


async def hand_over() -> int:
    """This process is stopping: forget all its sockets in one call (see the module); how many."""
    handed = 0
    for mine in list(_loops.values()):
        sockets, mine.sockets = mine.sockets, {}
        if mine.heartbeat is not None:
            mine.heartbeat.cancel()
        try:
            await store.current().hand_over(sockets, grace=chat_settings.PRESENCE_HEARTBEAT_SECONDS)
        except REDIS_ERRORS as exc:
            logger.warning("socket registry: could not hand %d sockets over: %s", len(sockets), exc)
        handed += len(sockets)
    return handed


async def heartbeat_once(mine: _LoopSockets) -> None:
    """Refresh this loop's sockets, record again any a sweep dropped, and find expired users."""
    registry = store.current()
    missing = await registry.refresh(dict(mine.sockets))
    # A socket missing from the registry while still open here: this process stalled past the TTL and
    # another one swept it. Checked after the await: a socket closed meanwhile must not come back.
    for conn in missing:
        user_id = mine.sockets.get(conn)
        if user_id is not None and await registry.open(user_id, conn, 0) is Opened.CAME_ONLINE:
            await _announce(mine, user_id, True)
    for user_id in await registry.sweep():
        await _announce(mine, user_id, False)


async def _announce(mine: _LoopSockets, user_id: int, online: bool) -> None:
    if mine.announce is not None:
        await mine.announce(user_id, online)


async def _heartbeat(mine: _LoopSockets) -> None:
    while mine.sockets:
        await asyncio.sleep(chat_settings.PRESENCE_HEARTBEAT_SECONDS)
        try:
            await heartbeat_once(mine)
        except REDIS_ERRORS as exc:
            logger.warning("socket registry heartbeat failed: %s", exc)
        except Exception:
            logger.exception("socket registry heartbeat failed")
