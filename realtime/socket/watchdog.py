"""Per-process channel-layer watchdog.

channels-redis's pub/sub layer reconnects silently, so a socket would never learn that broadcasts
were lost while Redis was down. One task per event loop pings Redis; when it fails, every socket of
this process closes with 1013 and its client reconnects and resumes from its last seq.
"""

import asyncio
import logging
import weakref
from typing import Protocol

import redis.asyncio as aioredis
from django.conf import settings

from chatproject import metrics
from chatproject.conf import chat_settings
from chatproject.errors import REDIS_ERRORS

logger = logging.getLogger(__name__)


class LayerWatcher(Protocol):
    """What the watchdog needs from a consumer."""

    async def layer_lost(self) -> None:
        """Close the socket: the channel layer is unreachable."""


_watched: "weakref.WeakSet[LayerWatcher]" = weakref.WeakSet()
_tasks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]]" = (
    weakref.WeakKeyDictionary()
)


def watch(consumer: LayerWatcher) -> None:
    """Register a consumer; start this loop's watchdog if it is not running."""
    if not settings.REDIS_URL:
        return  # the in-memory layer cannot fail independently of the process
    _watched.add(consumer)
    loop = asyncio.get_running_loop()
    task = _tasks.get(loop)
    if task is None or task.done():
        _tasks[loop] = loop.create_task(_run())


def unwatch(consumer: LayerWatcher) -> None:
    """Forget a consumer (on disconnect)."""
    _watched.discard(consumer)


async def _run() -> None:
    client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        while _watched:
            await asyncio.sleep(chat_settings.WS_LAYER_CHECK_SECONDS)
            try:
                await asyncio.wait_for(client.ping(), timeout=2)
            except REDIS_ERRORS as exc:
                logger.warning("channel layer unreachable (%s): closing %d sockets", exc, len(_watched))
                metrics.layer_error("ping_failed")
                for consumer in list(_watched):
                    _watched.discard(consumer)
                    try:
                        await consumer.layer_lost()
                    except Exception:
                        logger.debug("closing a socket after layer loss failed", exc_info=True)
    finally:
        await client.aclose()
