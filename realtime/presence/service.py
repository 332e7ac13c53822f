"""Presence as sockets see it: a socket opened or closed, this process's heartbeat, and the fan-out policy.

A transition (a user's first socket opened, last one closed or expired) decided by the store is
announced as a `presence {user_id, online}` event to the user's chats of at most
PRESENCE_FANOUT_MAX_MEMBERS members, at once (realtime.events.broadcast_now: no transaction backs it).
A socket relays each change once, however many chats it shares with that user (SeenPresence).
"""

import asyncio
import logging
import weakref
from collections.abc import Collection, Iterable

from chatproject.conf import chat_settings
from chats.selectors import chat_ids_for_user_id, chat_ids_with_members_at_most
from realtime.events import broadcast_now
from realtime.groups import chat_group
from realtime.presence import store
from realtime.presence.store import REDIS_ERRORS
from realtime.protocol import PresencePayload, ServerEvent
from realtime.threads import in_db_thread

logger = logging.getLogger(__name__)


def presence_payload(*, user_id: int, online: bool) -> PresencePayload:
    """The `presence` event's payload."""
    return {"user_id": user_id, "online": online}


class SeenPresence:
    """What one socket last relayed per user: a change arrives once through every chat shared with them."""

    def __init__(self) -> None:
        self._seen: dict[int, bool] = {}

    def is_news(self, payload: PresencePayload, *, me: int) -> bool:
        """Whether to relay this change (another user's, not already relayed); records it if so."""
        user_id, online = payload["user_id"], payload["online"]
        if user_id == me or self._seen.get(user_id) is online:
            return False
        self._seen[user_id] = online
        return True


def _announced_chat_ids(user_id: int, chat_ids: Iterable[int] | None) -> list[int]:
    """The user's chats (looked up when `chat_ids` is None) small enough to announce presence in."""
    ids = chat_ids_for_user_id(user_id=user_id) if chat_ids is None else list(chat_ids)
    return chat_ids_with_members_at_most(chat_ids=ids, max_members=chat_settings.PRESENCE_FANOUT_MAX_MEMBERS)


async def announce(user_id: int, online: bool, chat_ids: Iterable[int] | None = None) -> None:
    """Send `presence` to the user's chat groups of at most PRESENCE_FANOUT_MAX_MEMBERS members.

    A change goes to every member of every chat: in a room of N members that all connect, N * N
    frames. Past the limit that storm would crowd out the messages themselves, so large rooms get no
    presence frames; their members' `online` is in GET /api/chats/{id}. (`chat_ids` is looked up
    when None.)
    """
    chat_ids = await in_db_thread(_announced_chat_ids)(user_id, chat_ids)
    payload = presence_payload(user_id=user_id, online=online)
    for chat_id in chat_ids:
        await broadcast_now(chat_group(chat_id), ServerEvent.PRESENCE, payload)


# --- this process's sockets and their heartbeat ---------------------------------------------

# Per event loop: conn -> user id of the sockets open here, and the heartbeat task refreshing them.
_local: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, int]]" = weakref.WeakKeyDictionary()
_tasks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]]" = (
    weakref.WeakKeyDictionary()
)


def local_sockets() -> dict[str, int]:
    """This event loop's open sockets: channel name -> user id."""
    loop = asyncio.get_running_loop()
    sockets = _local.get(loop)
    if sockets is None:
        sockets = _local[loop] = {}
    return sockets


async def socket_opened(*, user_id: int, conn: str, chat_ids: Collection[int]) -> None:
    """Count an open socket; if it is the user's first anywhere, announce them online.

    Presence failures are logged, never raised: the socket works without it.
    """
    sockets = local_sockets()
    sockets[conn] = user_id
    loop = asyncio.get_running_loop()
    task = _tasks.get(loop)
    if task is None or task.done():
        _tasks[loop] = loop.create_task(_heartbeat(sockets))
    try:
        if await store.current().add(user_id, conn):
            await announce(user_id, True, chat_ids)
    except REDIS_ERRORS as exc:
        logger.warning("presence: could not register a socket of user %s: %s", user_id, exc)


async def socket_closed(*, user_id: int, conn: str, chat_ids: Collection[int]) -> None:
    """Forget a socket; if it was the user's last anywhere, announce them offline.

    If Redis is unreachable, the entry expires after PRESENCE_TTL_SECONDS and a sweep announces it.
    """
    if local_sockets().pop(conn, None) is None:
        return  # never counted (the connect did not get that far)
    try:
        if await store.current().remove(user_id, conn):
            await announce(user_id, False, chat_ids)
    except REDIS_ERRORS as exc:
        logger.warning("presence: could not unregister a socket of user %s: %s", user_id, exc)


async def heartbeat_once(sockets: dict[str, int]) -> None:
    """Refresh this process's sockets, re-add any a sweep dropped, and announce expired users offline."""
    current = store.current()
    missing = await current.refresh(dict(sockets))
    # A socket missing from the store while still open here: this process stalled past the TTL and
    # another one swept it. Checked after the await: a socket closed meanwhile must not come back.
    for conn in missing:
        user_id = sockets.get(conn)
        if user_id is not None and await current.add(user_id, conn):
            await announce(user_id, True)
    for user_id in await current.sweep():
        await announce(user_id, False)


async def _heartbeat(sockets: dict[str, int]) -> None:
    while sockets:
        await asyncio.sleep(chat_settings.PRESENCE_HEARTBEAT_SECONDS)
        try:
            await heartbeat_once(sockets)
        except REDIS_ERRORS as exc:
            logger.warning("presence heartbeat failed: %s", exc)
        except Exception:
            logger.exception("presence heartbeat failed")
