"""Experiment only (`bench.run --experiment no-close-old`): the app with one Channels cost removed.

channels.consumer.AsyncConsumer.dispatch awaits `aclose_old_connections()` before every handler,
i.e. one hop to the single shared sync thread and back for every event on every socket. This app's
consumer never uses the ORM on the event loop (realtime.threads.in_db_thread closes its own
connections), so the hop is pure overhead; this module measures what removing it would give.
"""

import channels.consumer


async def _no_close_old_connections() -> None:
    return None


channels.consumer.aclose_old_connections = _no_close_old_connections  # type: ignore[assignment]

from chatproject.asgi import application  # noqa: E402

__all__ = ["application"]
