"""A rolling restart under load (issue 19): one Daphne process of several behind one port gets SIGTERM
while senders keep sending; nothing may be lost or repeated.

Every socket behaves as `client.js` does. It opens with `?resume=1` (its first frame is `resume`, so
live messages wait for it), from the chat's newest seq when the run starts. On any close (1012 from
the process that stops, 1013 from a busy one, 4429 while a slot of the closed socket is still
counted) it reconnects after a `server_busy` answer's `retry_after`, else after a backoff with
jitter (bench.wsload.retry_wait), and resumes from the last seq it holds. Senders POST /api/messages/send with a
`client_id` and repeat a send that got no answer with the same `client_id`, so a send caught in the
restart is stored once.

At the end each socket must hold every seq of its chat after its start, once and in order. The
figures: sockets closed with 1012 (those of the stopped process) and the time from the signal until
the last of them had `resumed` on another process.

Only the standard library, `websockets` and bench.wsload's retry rule: `make test` drives it as well
(realtime/tests).
"""

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.wsload import retry_wait


@dataclass
class Socket:
    """One client socket of `chat_id`, and what it received."""

    token: str
    chat_id: int
    last: int  # the newest seq this client holds: its resume cursor
    duplicates: int = 0
    gaps: int = 0  # seqs skipped: lost unless a resume could fill them (it cannot once skipped)
    closes: Counter[int | None] = field(default_factory=Counter)
    restarted_at: float | None = None  # when the stopping process closed it (1012)
    back_at: float | None = None  # its next `resumed` after that
    last_delivery: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds from the first try of a send
    trace: list[str] = field(default_factory=list)  # what happened, for a socket that saw a fault
    stopping: bool = False

    def received(self, seq: int, content: str) -> None:
        if seq != self.last + 1:
            self.trace.append(f"{time.time():.3f} got {seq} holding {self.last}")
        if seq <= self.last:
            self.duplicates += 1
            return
        self.gaps += seq - self.last - 1
        self.last = seq
        self.last_delivery = time.time()
        if content.startswith("t="):
            self.latencies.append(self.last_delivery - float(content[2:]))


async def keep_open(url: str, s: Socket, ready: asyncio.Event | None) -> None:
    """Hold one socket open until told to stop, reconnecting and resuming as client.js does."""
    attempt = 0
    while not s.stopping:
        retry_after = 0.0
        try:
            ws = await connect(
                f"{url}?resume=1", additional_headers={"Authorization": f"Bearer {s.token}"}, open_timeout=30,
                compression=None, ping_interval=None, close_timeout=2, max_queue=None,
            )  # fmt: skip
        except Exception:  # refused, reset, timed out: a failed connect is retried like a close
            await asyncio.sleep(retry_wait("failed", 0.0, attempt))
            attempt += 1
            continue
        s.trace.append(f"{time.time():.3f} open, resume from {s.last}")
        try:
            await ws.send(json.dumps({"type": "resume", "payload": {"chats": {str(s.chat_id): s.last}}}))
            async for raw in ws:
                frame = json.loads(raw)
                kind, payload = frame["type"], frame["payload"]
                if kind == "new_message" and payload["chat_id"] == s.chat_id:
                    s.received(payload["seq"], payload["content"])
                elif kind == "resumed":
                    s.trace.append(f"{time.time():.3f} resumed {payload['chats']}")
                    attempt = 0
                    if s.restarted_at is not None and s.back_at is None:
                        s.back_at = time.time()
                    if ready is not None:
                        ready.set()
                        ready = None
                elif kind == "error" and payload.get("code") == "server_busy":
                    retry_after = float(payload.get("retry_after") or 0)
        except ConnectionClosed:
            pass
        code = ws.close_code
        s.trace.append(f"{time.time():.3f} closed {code}")
        s.closes[code] += 1
        if s.stopping:
            return
        if code == 1012 and s.restarted_at is None:
            s.restarted_at = time.time()
        outcome = "busy" if retry_after > 0 else "closed"
        await asyncio.sleep(retry_wait(outcome, retry_after, attempt))
        attempt += outcome != "busy"  # client.js: only a close that names no time grows the backoff


def post_send(base: str, token: str, chat_id: int, content: str, client_id: str) -> dict[str, Any] | None:
    """One POST /api/messages/send: the stored message, or None when it got no answer worth keeping."""
    body = json.dumps({"chat_id": chat_id, "content": content, "client_id": client_id}).encode()
    request = urllib.request.Request(f"{base}/api/messages/send", data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own server
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        if exc.code in (429, 503):  # busy or restarting: the same client_id again later
            return None
        raise
    except OSError:  # refused, reset or timed out during the restart: unknown, so repeat it
        return None


@dataclass
class Sender:
    token: str
    chat_id: int
    sent: int = 0
    retries: int = 0
    newest: int = 0  # the newest seq stored for this chat by this sender


async def keep_sending(base: str, sender: Sender, rate: float, until: float) -> None:
    """Send at `rate` per second until `until`, each send repeated with its client_id until stored."""
    next_at = time.monotonic()
    while time.monotonic() < until:
        # A repeat carries the first try's time: latency counts the restart's delay too.
        client_id, content = uuid.uuid4().hex, f"t={time.time():.6f}"
        while True:
            message = await asyncio.to_thread(
                post_send, base, sender.token, sender.chat_id, content, client_id
            )
            if message is not None:
                sender.newest = max(sender.newest, message["seq"])
                sender.sent += 1
                break
            sender.retries += 1
            await asyncio.sleep(0.2)
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def rolling_restart(
    *,
    url: str,
    base: str,
    sockets: list[Socket],
    senders: list[Sender],
    rate: float,
    duration: float,
    stop_at: float,
    stop_one: Callable[[], None],
    connect_at_once: int = 100,
    settle: float = 30.0,
) -> dict[str, Any]:
    """Open every socket, send for `duration` s, call `stop_one` (SIGTERM to one process) at `stop_at` s,
    then wait up to `settle` s for every socket to hold its chat's newest seq. The figures."""
    limit = asyncio.Semaphore(connect_at_once)
    tasks: list[asyncio.Task[None]] = []

    async def open_one(s: Socket) -> None:
        ready = asyncio.Event()
        async with limit:
            tasks.append(asyncio.create_task(keep_open(url, s, ready)))
            await asyncio.wait_for(ready.wait(), 120)

    started = time.monotonic()
    await asyncio.gather(*(open_one(s) for s in sockets))
    opened_s = time.monotonic() - started

    until = time.monotonic() + duration
    sending = [asyncio.create_task(keep_sending(base, x, rate, until)) for x in senders]
    await asyncio.sleep(stop_at)
    signalled = time.time()
    stop_one()
    await asyncio.gather(*sending)
    stopped_sending = time.time()

    newest: dict[int, int] = {}
    for x in senders:
        newest[x.chat_id] = max(newest.get(x.chat_id, 0), x.newest)
    deadline = time.monotonic() + settle
    # Polled: the condition spans every socket, and a delivery that never comes must not hang the run.
    while any(s.last < newest.get(s.chat_id, 0) for s in sockets) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)

    for s in sockets:
        s.stopping = True
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)

    restarted = [s for s in sockets if s.restarted_at is not None]
    back = [s.back_at - signalled for s in restarted if s.back_at is not None]
    missing = sum(max(0, newest.get(s.chat_id, 0) - s.last) for s in sockets)
    closes: Counter[int | None] = Counter()
    latencies: list[float] = []
    for s in sockets:
        closes.update(s.closes)
        latencies += s.latencies
    latencies.sort()

    def ms(q: float) -> float | None:
        return (
            round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)
            if latencies
            else None
        )

    sending_s = stopped_sending - signalled + stop_at
    return {
        "sockets": len(sockets),
        "senders": len(senders),
        "open_all_s": round(opened_s, 2),
        "sends": sum(x.sent for x in senders),
        "sends_per_s": round(sum(x.sent for x in senders) / sending_s, 1),
        "deliveries": len(latencies),
        "p50_ms": ms(0.50),
        "p99_ms": ms(0.99),
        "send_retries": sum(x.retries for x in senders),
        "sockets_restarted": len(restarted),
        "restarted_back": len(back),
        "all_back_s": round(max(back), 2) if back else None,
        "median_back_s": round(sorted(back)[len(back) // 2], 2) if back else None,
        "lost": sum(s.gaps for s in sockets) + missing,
        "duplicates": sum(s.duplicates for s in sockets),
        "late_s": round(max(0.0, max(s.last_delivery for s in sockets) - stopped_sending), 2),
        "faulty_traces": [
            [f"behind: holds {s.last} of {newest.get(s.chat_id, 0)}", *s.trace[-12:]]
            for s in sockets
            if s.duplicates or s.gaps or s.last < newest.get(s.chat_id, 0)
        ][:3],
        "close_codes": {str(code): n for code, n in sorted(closes.items(), key=lambda kv: str(kv[0]))},
    }
