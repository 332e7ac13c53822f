"""Handshakes during an outage: accept, then close with 1013 (try again later).

A handshake needs the database (credentials, the user's chats) and Redis (joining groups). When either
is down, closing before accepting makes Daphne answer HTTP 403 (or nothing, when the application
raised or never answered), which a client cannot tell from a refusal. Accepting first lets every
client read 1013 and reconnect later, as it does when an open socket loses Redis. A handshake that
has not been decided within WS_HANDSHAKE_TIMEOUT_SECONDS (a hung server) ends the same way, before
Daphne's own handshake timeout rejects it without a word.

Admission: at most WS_MAX_HANDSHAKES_IN_PROGRESS handshakes per process are worked on at once. Under a
reconnect storm (a rolling restart closes every socket of a process with 1012) the rest would queue for
the database and Redis until the whole queue timed out together; one past the bound is answered at
once instead: accepted, told `server_busy` with a `retry_after`, and closed 1013. The retry_after is a
slot in a virtual queue that advances at the rate the process completes handshakes, so the shed
clients come back about as fast as they can be served, not as one more wave. Clients retry with backoff and jitter, and the process
serves handshakes at the rate it can.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from chatproject import metrics
from chatproject.conf import chat_settings
from chatproject.errors import DATABASE_ERRORS, REDIS_ERRORS
from realtime.handshake.auth import BEARER_PROTOCOL_PREFIX
from realtime.protocol import frames

logger = logging.getLogger(__name__)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database or the channel layer cannot be reached."""
    return isinstance(exc, DATABASE_ERRORS + REDIS_ERRORS)


def subprotocol(scope: dict[str, Any]) -> str | None:
    """The offered protocol to echo on accept: the first that is not a bearer token.

    Browsers fail a handshake whose answer does not echo one of the protocols they offered.
    """
    for protocol in scope.get("subprotocols", []):
        if not protocol.startswith(BEARER_PROTOCOL_PREFIX):
            return str(protocol)
    return None


class HandshakeDecision:
    """One handshake's `send`, wrapped: records whether the socket was accepted or closed (the decision),
    and makes an early 1013 accept first."""

    def __init__(self, scope: dict[str, Any], send: Any):
        self.scope = scope
        self._send = send
        self.accepted = False
        self.closed = False
        self.decided = asyncio.Event()
        self.on_decided: Callable[[], None] | None = None

    def count_out(self) -> None:
        """Tell the admission count this handshake is no longer in progress (once)."""
        callback, self.on_decided = self.on_decided, None
        if callback is not None:
            callback()

    async def send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.close" and not self.accepted and message.get("code") in _TRY_AGAIN_CODES:
            await self.accept()
        if kind == "websocket.accept":
            self.accepted = True
            self.decided.set()
            self.count_out()
        elif kind == "websocket.close":
            self.closed = True
            self.decided.set()
            self.count_out()
        await self._send(message)

    async def accept(self) -> None:
        await self.send({"type": "websocket.accept", "subprotocol": subprotocol(self.scope)})

    async def try_again_later(self) -> None:
        """Accept if not yet accepted, then close with 1013; the client may already be gone."""
        if self.closed:
            return
        try:
            if not self.accepted:
                await self.accept()
            await self.send({"type": "websocket.close", "code": frames.CLOSE_TRY_AGAIN_LATER})
        except Exception:
            logger.debug("closing with 1013 failed", exc_info=True)


_TRY_AGAIN_CODES = frozenset({frames.CLOSE_TRY_AGAIN_LATER})


BUSY_MESSAGE = "server busy, try again later"
# A shed handshake is told to come back at a free slot of a virtual queue that advances at the rate this
# process can complete handshakes (the bound over their recent mean duration): retries then arrive about
# as fast as they can be served, not all at once (a fixed short wait would only repeat the storm, and
# each refusal costs CPU too). Measured from durations, not completions, which our own pacing would limit.
INITIAL_DURATION = 0.05  # seconds, until handshakes have been timed
MAX_RETRY_AFTER = 60.0


class AdmissionCount:
    """Handshakes in progress in this process, and when to tell a shed one to come back."""

    def __init__(self) -> None:
        self.in_progress = 0
        self._mean_duration = INITIAL_DURATION
        self._next_slot = 0.0

    def done(self, duration: float) -> None:
        """A handshake was decided (accepted or closed) `duration` seconds after it started."""
        self.in_progress -= 1
        self._mean_duration += 0.1 * (duration - self._mean_duration)

    def retry_after(self) -> float:
        """Seconds until the next free slot for a shed handshake (with a little jitter)."""
        now = time.monotonic()
        rate = max(chat_settings.WS_MAX_HANDSHAKES_IN_PROGRESS, 1) / max(self._mean_duration, 0.001)
        self._next_slot = max(self._next_slot, now + 0.25) + 1.0 / rate
        wait = min(MAX_RETRY_AFTER, self._next_slot - now)
        return round(wait * random.uniform(0.9, 1.1), 3)  # noqa: S311 - jitter, not a secret


async def shed(scope: dict[str, Any], receive: Any, send: Any, retry_after: float) -> None:
    """Answer a handshake the process has no room for: accept, `server_busy` with `retry_after`, close 1013."""
    metrics.handshake_shed()
    with contextlib.suppress(Exception):  # the client may already be gone
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        await send({"type": "websocket.accept", "subprotocol": subprotocol(scope)})
        payload = frames.error_payload(BUSY_MESSAGE, "server_busy", retry_after=retry_after)
        await send({"type": "websocket.send", "text": frames.encode("error", payload)})
        await send({"type": "websocket.close", "code": frames.CLOSE_TRY_AGAIN_LATER})


class HandshakeGuard:
    """ASGI middleware: a handshake that fails on an outage, or hangs, ends in accept + close 1013; one
    past the process's bound on handshakes in progress is answered 1013 at once (see the module)."""

    def __init__(self, app: Any):
        self.app = app
        self.admission = AdmissionCount()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Run the app; turn an outage before or during the handshake into 1013."""
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        admission = self.admission
        limit = chat_settings.WS_MAX_HANDSHAKES_IN_PROGRESS
        if 0 < limit <= admission.in_progress:
            await shed(scope, receive, send, admission.retry_after())
            return
        handshake = HandshakeDecision(scope, send)
        admission.in_progress += 1
        started = time.monotonic()
        # Counted out the moment it is decided (accepted or closed), from inside its send.
        handshake.on_decided = lambda: admission.done(time.monotonic() - started)
        app = asyncio.ensure_future(self.app(scope, receive, handshake.send))
        decided = asyncio.ensure_future(handshake.decided.wait())
        try:
            await asyncio.wait({app, decided}, timeout=chat_settings.WS_HANDSHAKE_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            app.cancel()
            raise
        finally:
            handshake.count_out()
            decided.cancel()
        if not app.done() and not handshake.decided.is_set():
            logger.warning("websocket handshake undecided in time: closing 1013")
            app.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await app
            await handshake.try_again_later()
            return
        try:
            await app  # awaiting the task directly: cancelling this call cancels it too
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("websocket closed: outage: %s", exc)
            await handshake.try_again_later()
