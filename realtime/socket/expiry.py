"""A socket's credential clock: close it when its credential expires; an `auth` frame moves the time."""

import asyncio
import time
from collections.abc import Awaitable, Callable


class CredentialExpiry:
    """One socket's planned close at its credential's expiry (one plan at a time)."""

    def __init__(self, close: Callable[[], Awaitable[None]]):
        self._close = close
        self._task: asyncio.Task[None] | None = None

    def at(self, unix_time: int | None) -> None:
        """Close at `unix_time` (never, if None), replacing any earlier plan."""
        self.cancel()
        if unix_time is not None:
            self._task = asyncio.create_task(self._close_at(unix_time))

    def cancel(self) -> None:
        """Drop the plan (the socket closed)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _close_at(self, unix_time: int) -> None:
        await asyncio.sleep(max(0.0, unix_time - time.time()))
        await self._close()
