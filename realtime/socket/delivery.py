"""Ordered, exactly-once delivery of one socket's `new_message` frames: plain asyncio, no socket.

Every chat of a socket has a cursor: the newest seq the socket has sent, with every seq between the
chat's floor and the cursor sent too. A socket learns each chat's cursor when it subscribes (the chat's
last seq then), so it knows from the first live message which seqs to expect:

- a message at or below the cursor was already sent (a duplicate broadcast, or the socket's own
  send answered directly) and is dropped;
- a message ahead of cursor + 1 waits in `pending` up to `reorder_wait` for the ones before it
  (concurrent senders' broadcasts leave in commit order but may reach this process a moment apart,
  and through different processes); a gap that outlives the wait is filled from the database;
- `resume` never re-sends: from a cursor below the floor it replays only (cursor, floor] and lowers the
  floor; from a cursor above, it tells this socket the client already has those.

Until `release()` (the client's first frame, or `release_after`'s timeout), live messages only wait,
so a `resume` sent first is replayed before them. All state changes run under one lock: handlers and repair timers
interleave at every await.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chatproject import metrics
from realtime.protocol.event_types import Reply, ServerEvent

logger = logging.getLogger(__name__)

Payload = dict[str, Any]
# How many times the hold is extended for a first frame read but not yet handled (see release_after).
HOLD_EXTENSIONS = 10
# (frame type, payload, the frame already encoded or None)
SendFrame = Callable[[str, Payload, str | None], Awaitable[None]]
# (chat id, after seq, through seq) -> the chat's message payloads in that window, oldest first, at most
# replay_limit + 1 of them.
FetchMessages = Callable[[int, int, int], Awaitable[list[Payload]]]


@dataclass
class _Chat:
    cursor: int  # newest seq sent (or known to the client)
    floor: int  # every seq in (floor, cursor] has been sent or was known to the client
    pending: dict[int, tuple[Payload, str | None]] = field(default_factory=dict)
    repair: "asyncio.Task[None] | None" = None
    resync_floor: int | None = None  # the floor a resume was last told to resync below


class OrderedDelivery:
    """Per-socket delivery of new messages: each seq of each chat once, in seq order."""

    def __init__(
        self,
        *,
        send: SendFrame,
        fetch: FetchMessages,
        replay_limit: int,
        reorder_wait: float,
        holding: bool = True,
    ):
        self._send = send
        self._fetch = fetch
        self._replay_limit = replay_limit
        self._reorder_wait = reorder_wait
        self._chats: dict[int, _Chat] = {}
        self._lock = asyncio.Lock()
        self._release_timer: asyncio.Task[None] | None = None
        self.holding = holding

    def start(self, chat_id: int, last_seq: int) -> None:
        """Expect the chat's messages after `last_seq` (its last seq when the socket subscribed)."""
        if chat_id not in self._chats:
            self._chats[chat_id] = _Chat(cursor=last_seq, floor=last_seq)

    def stop(self, chat_id: int) -> None:
        """Forget a chat: its cursor, waiting messages and repair timer."""
        chat = self._chats.pop(chat_id, None)
        if chat is not None:
            self._cancel_repair(chat)

    def close(self) -> None:
        """Forget every chat and stop the hold's timer (the socket closed)."""
        self._cancel_release_timer()
        for chat_id in list(self._chats):
            self.stop(chat_id)

    def cursor(self, chat_id: int) -> int | None:
        """The newest seq of the chat the socket has sent, or None for a chat it does not follow."""
        chat = self._chats.get(chat_id)
        return chat.cursor if chat is not None else None

    def pending_count(self) -> int:
        """How many messages wait for a predecessor or the end of the hold, over all chats."""
        return sum(len(chat.pending) for chat in self._chats.values())

    async def offer(self, payload: Payload, text: str | None = None) -> bool:
        """A live message: send it in order (now, or once its predecessors are sent). False if a duplicate."""
        async with self._lock:
            chat = self._chats.get(payload["chat_id"])
            seq = payload["seq"]
            if chat is None or seq <= chat.cursor:
                return False
            chat.pending[seq] = (payload, text)
            if not self.holding:
                await self._flush(payload["chat_id"], chat)
            elif len(chat.pending) > self._replay_limit:
                await self._resync(payload["chat_id"], chat)
            return True

    def offer_now(self, chat_id: int, seq: int, write: Callable[[], bool]) -> bool:
        """The common case of offer(), without awaiting: the chat's next seq, nothing waiting, nothing held.

        Then `write()` sends it and the cursor moves on. False (nothing changed) in every other case, or
        when `write()` cannot: the caller then goes through offer(), which decides as always.
        """
        if self.holding or self._lock.locked():
            return False
        chat = self._chats.get(chat_id)
        if chat is None or chat.pending or seq != chat.cursor + 1 or not write():
            return False
        chat.cursor = seq
        return True

    def release_after(self, seconds: float, first_frame_read: Callable[[], bool] | None = None) -> None:
        """End the hold `seconds` from now, unless release() comes first.

        `first_frame_read` tells whether the client's first frame has been read from the socket. If it
        has when the time is up, the process is behind (under a reconnect storm) and that frame, most
        likely a `resume`, waits to be handled: releasing now would send live messages ahead of its
        replay, so the hold is extended (at most HOLD_EXTENSIONS times) and the frame releases it.
        """
        self._cancel_release_timer()
        self._release_timer = asyncio.create_task(self._release_later(seconds, first_frame_read))

    async def _release_later(self, seconds: float, first_frame_read: Callable[[], bool] | None) -> None:
        await asyncio.sleep(seconds)
        for _ in range(HOLD_EXTENSIONS):
            if first_frame_read is None or not first_frame_read() or not self.holding:
                break
            await asyncio.sleep(seconds)
        await self.release()

    async def release(self) -> None:
        """End the hold: send what waited, in order, and repair the gaps before it."""
        async with self._lock:
            if self.holding:
                self.holding = False
                for chat_id, chat in list(self._chats.items()):
                    await self._flush(chat_id, chat)
        # After the flush, not before: a timer already flushing finishes (the lock waited for it).
        self._cancel_release_timer()

    async def resume(self, chat_id: int, after_seq: int) -> int | None:
        """Bring a chat up from the client's cursor without re-sending anything; the cursor reached.

        None if the socket does not follow the chat. Sends `resync_required` when more than the replay
        limit lies between the client's cursor and what this socket already sent.
        """
        async with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                return None
            if after_seq >= chat.cursor:
                # The client already has everything up to after_seq (from another socket, say).
                chat.cursor = after_seq
                chat.floor = min(chat.floor, after_seq)
            elif after_seq < chat.floor:
                await self._replay_below_floor(chat_id, chat, after_seq)
            if not self.holding:
                await self._flush(chat_id, chat)
            return chat.cursor

    async def _replay_below_floor(self, chat_id: int, chat: _Chat, after_seq: int) -> None:
        if chat.resync_floor == chat.floor:
            # Already told to page this range over REST; do not read it again for a repeated resume.
            await self._send(Reply.RESYNC_REQUIRED, {"chat_id": chat_id}, None)
            return
        rows = await self._fetch(chat_id, after_seq, chat.floor)
        if len(rows) > self._replay_limit:
            chat.resync_floor = chat.floor
            await self._send(Reply.RESYNC_REQUIRED, {"chat_id": chat_id}, None)
            return
        metrics.replayed(len(rows))
        for row in rows:
            await self._send(ServerEvent.NEW_MESSAGE, row, None)
        chat.floor = after_seq

    async def _flush(self, chat_id: int, chat: _Chat) -> None:
        """Send the waiting messages that follow on from the cursor; time a repair for a gap. Locked."""
        while (following := chat.pending.pop(chat.cursor + 1, None)) is not None:
            await self._send(ServerEvent.NEW_MESSAGE, *following)
            chat.cursor += 1
        for seq in [seq for seq in chat.pending if seq <= chat.cursor]:
            del chat.pending[seq]
        if not chat.pending:
            self._cancel_repair(chat)
        elif len(chat.pending) > self._replay_limit:
            await self._resync(chat_id, chat)
        elif chat.repair is None:
            chat.repair = asyncio.create_task(self._repair_later(chat_id, chat))

    async def _repair_later(self, chat_id: int, chat: _Chat) -> None:
        """After the reorder wait, fill the gap before the waiting messages from the database."""
        await asyncio.sleep(self._reorder_wait)
        async with self._lock:
            chat.repair = None
            if self._chats.get(chat_id) is not chat or not chat.pending or self.holding:
                return
            through = min(chat.pending) - 1
            if through > chat.cursor:
                try:
                    rows = await self._fetch(chat_id, chat.cursor, through)
                except Exception:
                    # The database is unreachable: try again after another wait; the waiting messages
                    # are bounded by the replay limit.
                    logger.warning("gap repair for chat %s failed", chat_id, exc_info=True)
                    chat.repair = asyncio.create_task(self._repair_later(chat_id, chat))
                    return
                if len(rows) > self._replay_limit:
                    await self._resync(chat_id, chat)
                    return
                for row in rows:
                    if row["seq"] == chat.cursor + 1:
                        await self._send(ServerEvent.NEW_MESSAGE, row, None)
                        chat.cursor += 1
                # A seq the database does not have (never committed, or erased) is skipped, not awaited.
                chat.cursor = max(chat.cursor, through)
            await self._flush(chat_id, chat)

    async def _resync(self, chat_id: int, chat: _Chat) -> None:
        """Too far behind for a socket: say so, then continue from the newest waiting message. Locked."""
        await self._send(Reply.RESYNC_REQUIRED, {"chat_id": chat_id}, None)
        newest = max(chat.pending)
        chat.pending = {newest: chat.pending[newest]}
        chat.cursor = chat.floor = newest - 1
        if not self.holding:
            self._cancel_repair(chat)
            await self._flush(chat_id, chat)

    def _cancel_release_timer(self) -> None:
        if self._release_timer is not None and self._release_timer is not asyncio.current_task():
            self._release_timer.cancel()
        self._release_timer = None

    @staticmethod
    def _cancel_repair(chat: _Chat) -> None:
        if chat.repair is not None and chat.repair is not asyncio.current_task():
            chat.repair.cancel()
        chat.repair = None
