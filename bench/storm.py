"""A reconnect storm: many sockets opening at once, retrying as client.js does (issue 19).

Each socket connects; an answer is an open socket (still open a moment later), or an accepted socket
closed with a code (1013 from the handshake guard or admission control, whose `server_busy` frame
says `retry_after`). A client retries after the longer of retry_after and an exponential backoff with
jitter. No answer at all (an HTTP error, a reset, a timeout) is counted as unanswered and not retried.
"""

import asyncio
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from bench.common import raise_nofile
from bench.wsload import first_answer, retry_wait


async def _storm(url: str, tokens: list[str], deadline_s: float) -> dict[str, Any]:
    started = time.monotonic()
    opened_at: list[float] = []
    unanswered: list[str] = []
    attempts = shed = guard_closed = 0
    sockets: list[ClientConnection] = []

    async def one(token: str) -> None:
        nonlocal attempts, shed, guard_closed
        attempt = 0
        while time.monotonic() - started < deadline_s:
            attempts += 1
            try:
                ws = await connect(
                    url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30,
                    compression=None, ping_interval=None, close_timeout=2,
                )  # fmt: skip
            except InvalidStatus as exc:
                unanswered.append(f"HTTP {exc.response.status_code}")
                return
            except (OSError, TimeoutError, Exception) as exc:
                unanswered.append(type(exc).__name__)
                return
            outcome, retry_after = await first_answer(ws, 0.3)
            if outcome == "open":
                opened_at.append(time.monotonic() - started)
                sockets.append(ws)
                return
            if outcome == "busy":
                shed += 1
            else:
                guard_closed += 1
            await asyncio.sleep(retry_wait(outcome, retry_after, attempt))
            attempt += outcome != "busy"
        unanswered.append("deadline")

    await asyncio.gather(*(one(t) for t in tokens))
    all_open = max(opened_at) if opened_at else None
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    opened_at.sort()
    # When 99 % of all the storm's sockets were open (issue 19's bar: within 30 s); None if never.
    needed = -(-99 * len(tokens) // 100)
    p99_open = round(opened_at[needed - 1], 2) if len(opened_at) >= needed else None
    return {
        "sockets": len(tokens),
        "opened": len(opened_at),
        "opened_share": round(len(opened_at) / len(tokens), 4),
        "unanswered": len(unanswered),
        "unanswered_samples": unanswered[:5],
        "attempts": attempts,
        "shed_server_busy": shed,
        "closed_by_guard_or_outage": guard_closed,
        "all_open_s": round(all_open, 2) if all_open is not None else None,
        "median_open_s": round(opened_at[len(opened_at) // 2], 2) if opened_at else None,
        "p99_open_s": p99_open,
        "handshakes_per_s": round(len(opened_at) / all_open, 1) if all_open else None,
    }


def storm_process(url: str, tokens: list[str], deadline_s: float, result_q: Any) -> None:
    """Run one storm in this (spawned) process; put its summary on result_q."""
    raise_nofile()
    result_q.put(asyncio.run(_storm(url, tokens, deadline_s)))
