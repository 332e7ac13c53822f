"""The one module that calls group_send: `broadcast_on_commit` after a transaction, `broadcast_now` without one.

Events are named and routed by realtime.protocol.event_types: an event whose spec says `to_subject_user` also goes
to that user's group, so producers make one call per event whatever the consumer needs to see it.

With Redis, broadcasts leave through one sender thread per process: the thread that committed only
hands the event over and returns, so a slow or hung Redis never holds a request thread or its
database connection. The sender sends in the order events were handed over (after commit, so per
chat in commit order), gives each send at most BROADCAST_TIMEOUT_SECONDS, and drops a send that
times out or finds the queue (BROADCAST_QUEUE_SIZE) full. Dropping loses nothing stored: live
delivery is at most once, and clients repair gaps from the database (`resume`, gap repair); the
watchdog closes every socket with 1013 when Redis stops answering.
"""

import asyncio
import functools
import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from chatproject import metrics
from chatproject.conf import chat_settings
from realtime.groups import user_group
from realtime.protocol import frames
from realtime.protocol.event_types import EVENTS, ServerEvent, layer_type

logger = logging.getLogger(__name__)

# The sender sends at most this many queued events per turn of its loop (fewer loop round trips
# when commits come in bursts; each still gets its own timeout, in order).
_BATCH = 100


def layer_message(group: str, event: ServerEvent, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The channel-layer message for one event; `group` tells the consumer which chat it belongs to.

    Its `type` routes it to the consumer's handler for that event (realtime.protocol.event_types.layer_type).

    `frame` is the client frame already encoded: a group's sockets all send the same text, so it is
    encoded once here instead of once per socket (a room of 500 would otherwise encode it 500 times).
    `sent_at` (epoch seconds) times its delivery to each socket (chatproject.metrics).
    """
    # Refuses a name outside the protocol; a plain string naming an event is accepted as that event.
    event = ServerEvent(event)
    name = event.value
    return {
        "type": layer_type(event),
        "event": name,
        "payload": payload,
        "group": group,
        "frame": frames.encode(name, payload),
        "sent_at": time.time(),
    }


class BroadcastSender:
    """A FIFO of group messages and the daemon thread (with its own event loop) that sends them."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.dropped = 0

    def submit(self, group: str, message: dict[str, Any]) -> bool:
        """Queue one message without waiting; False (and logged) when the queue is full."""
        pending = self._started()
        try:
            pending.put_nowait((group, message))
        except queue.Full:
            self.dropped += 1
            metrics.layer_error("broadcast_queue_full")
            logger.warning("broadcast queue full: dropped %s to %s", message.get("event"), group)
            return False
        return True

    def _started(self) -> "queue.Queue[tuple[str, dict[str, Any]]]":
        with self._start_lock:
            if self._queue is None or self._thread is None or not self._thread.is_alive():
                if self._queue is None:
                    self._queue = queue.Queue(maxsize=chat_settings.BROADCAST_QUEUE_SIZE)
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="broadcast-sender", daemon=True
                )
                self._thread.start()
            return self._queue

    def _run(self, pending: "queue.Queue[tuple[str, dict[str, Any]]]") -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        while True:
            batch = [pending.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            loop.run_until_complete(self._send_all(batch))

    async def _send_all(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        timeout = chat_settings.BROADCAST_TIMEOUT_SECONDS
        for group, message in batch:
            try:
                await asyncio.wait_for(layer.group_send(group, message), timeout)
            except TimeoutError:
                self.dropped += 1
                metrics.layer_error("broadcast_timeout")
                logger.warning("broadcast of %s to %s timed out: dropped", message.get("event"), group)
            except Exception:
                self.dropped += 1
                metrics.layer_error("broadcast_failed")
                logger.exception("broadcast of %s to %s failed", message.get("event"), group)


sender = BroadcastSender()


def send_to_group(group: str, event: ServerEvent, payload: Mapping[str, Any]) -> None:
    """Send one event to a group without waiting on Redis; failures are logged, never raised.

    With Redis the event is queued for the sender thread; the in-memory layer (nothing to hang on,
    and bound to one event loop) delivers it at once.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    message = layer_message(group, event, payload)
    if not isinstance(layer, InMemoryChannelLayer):
        sender.submit(group, message)
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.exception("broadcast of %s to %s failed", event, group)


def broadcast_on_commit(group: str, event: ServerEvent, payload: Mapping[str, Any]) -> None:
    """Send `{"type": event, "payload": payload}` to a group once the current transaction commits.

    An event routed `to_subject_user` (member_added, member_removed) then also goes to the group of
    payload["user_id"]. A rolled-back transaction sends nothing; a channel-layer failure after commit
    is logged.
    """
    groups = [group]
    if EVENTS[event].to_subject_user:
        groups.append(user_group(payload["user_id"]))
    for target in groups:
        # One callback per group, each robust: a failure towards one group does not skip the next.
        transaction.on_commit(functools.partial(send_to_group, target, event, payload), robust=True)


async def broadcast_now(group: str, event: ServerEvent, payload: Mapping[str, Any]) -> None:
    """Send an event to a group at once, for what no transaction backs (typing, presence).

    Layer errors propagate: the caller decides whether they close the socket or are only logged.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    await layer.group_send(group, layer_message(group, event, payload))
