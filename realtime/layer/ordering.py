"""Each chat's new messages put in `seq` order once per process, before any socket sees them.

Concurrent senders commit a chat's messages in seq order (the chat row lock), but their broadcasts
leave from different threads and processes, so a process may receive seq 8 before seq 7. Were each
socket to hold 8 for 7 on its own, its queue would be non-empty and every later frame would take the
per-socket slow path (several times the CPU of the local fan-out), so the queue would only grow. The
process's channel layer keeps, per chat, the next seq it expects, and hands the group's sockets the
chat's messages in order:

- the expected seq goes out at once, with whatever waited behind it;
- a seq ahead of it waits up to WS_REORDER_WAIT_SECONDS for the ones before it; a gap that outlives
  the wait is filled from the database once for the process (not once per socket), then everything
  goes out in order; seqs the database does not have are skipped;
- a seq below it (a duplicate, or one that arrived after its gap was filled) passes through: each
  socket's cursor (realtime.socket.delivery) drops what it already has.

The per-socket delivery still guards order and exactly-once for what is truly per socket (a resume,
the first-frame hold, a socket that joined late or fell behind); in the common case every socket's
next seq is the one handed over, and it takes the local fan-out. At most WS_REPLAY_LIMIT messages wait
per chat: past that, they go out as they are and the sockets repair (or resync) on their own.
"""

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatproject import metrics
from chatproject.conf import chat_settings
from realtime import selectors
from realtime.broadcast import layer_message
from realtime.groups import chat_group
from realtime.layer.fanout import Fanout
from realtime.protocol.event_types import ServerEvent
from realtime.threads import in_db_thread

logger = logging.getLogger(__name__)

# Chats whose order a process remembers; the least recently active without waiting messages are
# forgotten past it (a forgotten chat starts again from its sockets' cursors).
MAX_CHATS = 50_000

# What a chat keeps of the messages it handed over in order, for sockets that fell a little behind
# (realtime.socket.relay catches them up from here, framed once, instead of from their queue or the database):
# at most this many per chat, none older than RECENT_SECONDS.
RECENT_PER_CHAT = 512
RECENT_SECONDS = 10.0

# When the process begins to listen to a chat, how long before it reads the chat's tail (see
# ChatOrder.subscribed): longer than a broadcast takes to arrive.
TAIL_READ_AFTER_SECONDS = 1.0

Message = dict[str, Any]
# (group name, decoded group message, its fan-out): hand it to the group's local sockets now.
Deliver = Callable[[str, Message, Fanout], None]
# The oldest cursor in a chat among the group's local sockets (None if none follows it).
OldestCursor = Callable[[str, int], int | None]


@dataclass
class _Chat:
    next_seq: int
    group: str
    pending: dict[int, Message] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    filling: "asyncio.Task[None] | None" = (
        None  # the gap repair in flight (held: a bare task may be collected)
    )
    # seq -> its fan-out, oldest kept first: every message handed over, in order or late.
    recent: dict[int, Fanout] = field(default_factory=dict)


class ChatOrder:
    """One process's (one event loop's) per-chat order of `new_message` group messages."""

    def __init__(self, deliver: Deliver, oldest_cursor: OldestCursor) -> None:
        self._deliver = deliver
        self._oldest_cursor = oldest_cursor
        self._chats: OrderedDict[int, _Chat] = OrderedDict()
        # Every chat's recent messages in the order they were kept: (when, chat, seq), to age them out.
        self._recent_kept: deque[tuple[float, _Chat, int]] = deque()
        self._tails: set[asyncio.Task[None]] = (
            set()
        )  # tail reads in flight (held: a bare task may be collected)

    def arrive(self, group: str, chat_id: int, message: Message) -> None:
        """A chat's new_message reached this process: deliver it, and what it unblocks, in seq order."""
        seq = message["payload"]["seq"]
        chat = self._chats.get(chat_id)
        if chat is None:
            # Where the local sockets stand: the oldest cursor, so that no socket's next message is
            # taken for a late one. (A socket can be ahead of the others: its own send is answered
            # directly, and it may have repaired a gap from the database before the broadcasts came.)
            cursor = self._oldest_cursor(group, chat_id)
            chat = self._remember(chat_id, _Chat(next_seq=seq if cursor is None else cursor + 1, group=group))
        else:
            self._chats.move_to_end(chat_id)
        if seq < chat.next_seq:
            self._deliver(group, message, self._keep(chat, message))
            return
        if seq > chat.next_seq:
            chat.pending[seq] = message
            if len(chat.pending) > chat_settings.WS_REPLAY_LIMIT:
                self._give_up(chat)
            elif chat.timer is None and chat.filling is None:
                chat.timer = asyncio.get_running_loop().call_later(
                    chat_settings.WS_REORDER_WAIT_SECONDS, self._gap_outlived_wait, chat_id, chat
                )
            return
        self._in_order(chat, message)
        self._drain(chat)

    def subscribed(self, group: str, chat_id: int, after_seq: int) -> None:
        """This process just started listening to the chat's group (its first local socket joined).

        A socket reads its cursor before it joins, and Redis takes the subscription a moment after it is
        asked: a message published in between reached no socket here, and without a later message
        nothing would repair it. So, TAIL_READ_AFTER_SECONDS later, when every broadcast published
        before the subscription has arrived if it ever will, the chat's tail above the local sockets'
        oldest cursor (or `after_seq`, the joining socket's) is read once for the process, and what the
        process has not seen is handed over like any arrival (usually no row: one query per chat and
        process). Read sooner, it would find messages whose broadcasts are still on their way, and hand
        them over ahead of the changes broadcast before them.
        """
        loop = asyncio.get_running_loop()
        loop.call_later(
            TAIL_READ_AFTER_SECONDS,
            lambda: self._tails.add(loop.create_task(self._read_tail(group, chat_id, after_seq))),
        )

    async def _read_tail(self, group: str, chat_id: int, after_seq: int) -> None:
        try:
            oldest = self._oldest_cursor(group, chat_id)
            cursor = after_seq if oldest is None else min(oldest, after_seq)
            limit = chat_settings.WS_REPLAY_LIMIT
            rows = await in_db_thread(selectors.chat_window)(chat_id, cursor, cursor + limit, limit)
            known = self._chats.get(chat_id)
            for row in rows:
                if known is None or row["seq"] >= known.next_seq:
                    message = layer_message(chat_group(chat_id), ServerEvent.NEW_MESSAGE, row)
                    self.arrive(group, chat_id, message)
        except Exception:
            # The sockets' own gap repair still covers it when a later message comes.
            logger.warning("reading the tail of chat %s failed", chat_id, exc_info=True)
        finally:
            self._tails.discard(asyncio.current_task())  # type: ignore[arg-type]

    def kept_after(self, chat_id: int, seq: int) -> list[Message]:
        """The chat's messages this process handed over after `seq` and still keeps, oldest first: what
        a socket joining now missed between reading its cursor and joining the group."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [chat.recent[s].message for s in sorted(chat.recent) if s > seq]

    def _in_order(self, chat: _Chat, message: Message) -> None:
        """Hand over the chat's next message."""
        fanout = self._keep(chat, message)
        chat.next_seq = fanout.seq + 1
        self._deliver(chat.group, fanout.message, fanout)

    def _keep(self, chat: _Chat, message: Message) -> Fanout:
        """The message's fan-out, kept among the chat's recent ones (at most RECENT_PER_CHAT of them, none
        older than RECENT_SECONDS)."""
        fanout = Fanout(message, chat.recent)
        recent = chat.recent
        recent[fanout.seq] = fanout
        if len(recent) > RECENT_PER_CHAT:
            del recent[next(iter(recent))]
        now = time.monotonic()
        kept = self._recent_kept
        kept.append((now, chat, fanout.seq))
        while kept and kept[0][0] < now - RECENT_SECONDS:
            _, old_chat, old_seq = kept.popleft()
            old_chat.recent.pop(old_seq, None)
        return fanout

    def _remember(self, chat_id: int, chat: _Chat) -> _Chat:
        self._chats[chat_id] = chat
        if len(self._chats) > MAX_CHATS:
            for old_id, old in list(self._chats.items())[: len(self._chats) - MAX_CHATS]:
                if not old.pending and old.filling is None and old_id != chat_id:
                    del self._chats[old_id]
        return chat

    def _drain(self, chat: _Chat) -> None:
        """Deliver what waited and now follows on; stop the gap timer once nothing waits."""
        while (following := chat.pending.pop(chat.next_seq, None)) is not None:
            self._in_order(chat, following)
        for seq in [seq for seq in chat.pending if seq < chat.next_seq]:
            late = chat.pending.pop(seq)
            self._deliver(chat.group, late, self._keep(chat, late))
        if not chat.pending and chat.timer is not None:
            chat.timer.cancel()
            chat.timer = None

    def _gap_outlived_wait(self, chat_id: int, chat: _Chat) -> None:
        chat.timer = None
        if self._chats.get(chat_id) is not chat or not chat.pending or chat.filling is not None:
            return
        chat.filling = asyncio.get_running_loop().create_task(self._fill(chat_id, chat))

    async def _fill(self, chat_id: int, chat: _Chat) -> None:
        """Read the gap before the waiting messages from the database once, then deliver in order."""
        through = min(chat.pending) - 1
        try:
            rows = await in_db_thread(selectors.chat_window)(
                chat_id, chat.next_seq - 1, through, chat_settings.WS_REPLAY_LIMIT
            )
        except Exception:
            # The database is unreachable: hand over what waited; each socket repairs its own gap later.
            logger.warning("gap repair for chat %s failed", chat_id, exc_info=True)
            rows = []
        finally:
            chat.filling = None
        metrics.process_gap_filled(len(rows))
        for row in rows:
            # A broadcast that arrived while the database answered is kept; its row is not needed.
            if row["seq"] >= chat.next_seq and row["seq"] not in chat.pending:
                chat.pending[row["seq"]] = layer_message(chat.group, ServerEvent.NEW_MESSAGE, row)
        # A seq the database does not have (never committed) is skipped, not awaited.
        if chat.pending:
            chat.next_seq = max(chat.next_seq, min(chat.pending))
        self._drain(chat)
        if chat.pending and chat.timer is None:
            chat.timer = asyncio.get_running_loop().call_later(
                chat_settings.WS_REORDER_WAIT_SECONDS, self._gap_outlived_wait, chat_id, chat
            )

    def _give_up(self, chat: _Chat) -> None:
        """Too many waiting: hand them all over in order; the sockets repair or resync on their own."""
        newest = max(chat.pending)
        for seq in sorted(chat.pending):
            self._in_order(chat, chat.pending.pop(seq))
        chat.next_seq = max(chat.next_seq, newest + 1)
        if chat.timer is not None:
            chat.timer.cancel()
            chat.timer = None
