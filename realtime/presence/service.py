"""Presence as sockets see it: a socket opened or closed (recorded by realtime.registry), and the fan-out
policy.

A transition (a user's first socket opened, last one closed or expired) decided by the store is
announced as a `presence {user_id, online}` event to the user's chats of at most
PRESENCE_FANOUT_MAX_MEMBERS members, at once (realtime.broadcast.broadcast_now: no transaction backs it).
A socket relays each change once, however many chats it shares with that user (SeenPresence).
"""

import logging
from collections.abc import Collection, Iterable

from chatproject.conf import chat_settings
from chats.selectors import chat_ids_for_user_id, chat_ids_with_members_at_most
from realtime import registry
from realtime.broadcast import broadcast_now
from realtime.groups import chat_group
from realtime.protocol.event_types import PresencePayload, ServerEvent
from realtime.registry.store import REDIS_ERRORS, Opened
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


# --- sockets opened and closed, on top of the registry ------------------------------------


async def _announce_anywhere(user_id: int, online: bool) -> None:
    """A transition the registry's heartbeat found (a swept socket, an expired user): in all their chats."""
    await announce(user_id, online)


async def socket_open(*, user_id: int, conn: str) -> Opened:
    """Record a socket in the registry: refused past the user's cap, or opened (and maybe their first)."""
    return await registry.open_socket(user_id=user_id, conn=conn, announce=_announce_anywhere)


async def socket_came_online(*, user_id: int, chat_ids: Collection[int]) -> None:
    """The socket opened was the user's first anywhere: announce them online.

    Presence failures are logged, never raised: the socket works without it.
    """
    try:
        await announce(user_id, True, chat_ids)
    except REDIS_ERRORS as exc:
        logger.warning("presence: could not announce user %s online: %s", user_id, exc)


async def socket_close(*, user_id: int, conn: str, chat_ids: Collection[int]) -> None:
    """Forget a socket (safe to call again); if it was the user's last anywhere, announce them offline."""
    if await registry.close_socket(conn=conn) and chat_ids:
        try:
            await announce(user_id, False, chat_ids)
        except REDIS_ERRORS as exc:
            logger.warning("presence: could not announce user %s offline: %s", user_id, exc)
