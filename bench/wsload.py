"""WebSocket load generator: one OS process holding many client sockets (no Django here).

A job lists sockets (URL, access token, chat, sender or not). The process connects them all, says
ready, waits for the orchestrator's go, then runs one of three modes until its deadline:

- closed: each sender keeps exactly one `send_message` in flight; the next goes when the server's
  answer (the `new_message` with its client_id) arrives on its own socket;
- open: each sender sends on a fixed schedule whatever the answers do; the timestamp in the message is
  the *scheduled* time, so a late client or server shows up as latency (no coordinated omission);
- idle: nothing is sent; the sockets stay open until told to stop (resident memory is measured then).

Every `new_message` carries `t=<unix time>` in its content; each receiver records now - t (all processes
share the machine's clock) and the (chat, seq) pairs it saw, so the orchestrator counts lost deliveries
against the database's seqs.
"""

import asyncio
import contextlib
import json
import random
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.common import raise_nofile


class Sock:
    """One client socket's state."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.ws: ClientConnection | None = None
        self.pending: str | None = None
        self.ack = asyncio.Event()
        self.seqs: dict[int, list[int]] = {}


def backoff(attempt: int) -> float:
    """client.js's reconnect wait: exponential, capped, half fixed and half random."""
    ceiling = min(10.0, 0.5 * 2**attempt)
    return ceiling / 2 + random.random() * ceiling / 2


def retry_wait(outcome: str, retry_after: float, attempt: int) -> float:
    """client.js's wait before the next connect: a `server_busy` answer's retry_after (the server's slot
    for it), else the backoff. Only the backoff's step grows (see client.js's _retry)."""
    if outcome == "busy" and retry_after > 0:
        return retry_after
    return backoff(attempt)


async def first_answer(ws: ClientConnection, wait: float) -> tuple[str, float]:
    """What a socket just opened says in its first `wait` seconds, read as client.js reads it:
    ("open", 0) when it stays open (quiet, or a live frame such as presence), ("busy", retry_after)
    for a handshake shed by admission control (`server_busy`, then 1013), ("closed", 0) when it is
    closed at once (the handshake guard's 1013)."""
    try:
        frame = json.loads(await asyncio.wait_for(ws.recv(), wait))
    except TimeoutError:
        return "open", 0.0
    except Exception:
        return "closed", 0.0
    if frame.get("type") == "error" and frame["payload"].get("code") == "server_busy":
        with contextlib.suppress(Exception):
            await ws.wait_closed()
        return "busy", float(frame["payload"].get("retry_after") or 0)
    return "open", 0.0


# A socket that fails this many times (no answer, or closed without a time to come back) is given up.
CONNECT_FAILURES = 12
# However often it is shed, a socket stops trying after this long.
CONNECT_DEADLINE_SECONDS = 300.0


async def _connect(spec: dict[str, Any], limit: asyncio.Semaphore) -> ClientConnection | None:
    """Open one socket as client.js would: a handshake shed (`server_busy`) comes back at its retry_after
    as often as it is shed, one closed or failed at once after a backoff, at most CONNECT_FAILURES times."""
    async with limit:
        failures = 0
        deadline = time.monotonic() + CONNECT_DEADLINE_SECONDS
        while failures < CONNECT_FAILURES and time.monotonic() < deadline:
            try:
                ws = await connect(
                    spec["url"],
                    additional_headers={"Authorization": f"Bearer {spec['token']}"},
                    compression=None,
                    ping_interval=None,
                    open_timeout=120,
                    close_timeout=2,
                    max_queue=4096,
                )
            except (OSError, TimeoutError, Exception):
                failures += 1
                await asyncio.sleep(0.5)
                continue
            outcome, retry_after = await first_answer(ws, 0.15)
            if outcome == "open":
                return ws
            await asyncio.sleep(retry_wait(outcome, retry_after, failures))
            failures += outcome != "busy"
    return None


async def _wait_for(event: Any) -> None:
    # A multiprocessing.Event (shared with the orchestrator), which asyncio cannot await: poll it.
    while not event.is_set():  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def _run(
    job: dict[str, Any], ready_q: Any, go: Any, start_at: Any, stop: Any, warm: Any
) -> dict[str, Any]:
    socks = [Sock(spec) for spec in job["sockets"]]
    limit = asyncio.Semaphore(job.get("connect_concurrency", 50))
    t0 = time.time()
    conns = await asyncio.gather(*(_connect(s.spec, limit) for s in socks))
    for s, ws in zip(socks, conns, strict=True):
        s.ws = ws
    connected = [s for s in socks if s.ws is not None]
    connect_s = time.time() - t0
    mode = job["mode"]
    if mode == "idle":
        await asyncio.sleep(1.0)  # an unauthenticated socket would be closed (4401) by now
        alive = sum(1 for s in connected if s.ws is not None and s.ws.close_code is None)
        ready_q.put({"wid": job["wid"], "connected": len(connected), "alive": alive, "connect_s": connect_s})
        await _wait_for(stop)
        await asyncio.gather(*(s.ws.close() for s in connected if s.ws is not None), return_exceptions=True)
        return {"wid": job["wid"], "connected": len(connected), "alive": alive}

    lo: dict[int, int] = {int(k): v for k, v in job["lo"].items()}
    latencies: list[float] = []
    stats = {"sent": 0, "acked": 0, "errors": 0, "dups": 0, "ack_timeouts": 0, "max_lag_ms": 0.0}
    error_samples: list[str] = []

    def frame(s: Sock, sent_at: float, n: int) -> str:
        # Unique per run: a repeated client_id is an idempotent retry and would store nothing.
        cid = f"{job['tag']}-{job['wid']}-{s.spec['index']}-{n}"
        s.pending = cid
        payload = {"chat_id": s.spec["chat_id"], "content": f"t={sent_at:.6f}", "client_id": cid}
        return json.dumps({"type": "send_message", "payload": payload})

    last_frame = [time.time()]

    async def reader(s: Sock) -> None:
        assert s.ws is not None
        seen: dict[int, set[int]] = {}
        try:
            async for raw in s.ws:
                now = last_frame[0] = time.time()
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "new_message":
                    p = frame["payload"]
                    chat, seq = p["chat_id"], p["seq"]
                    if seq > lo.get(chat, 0):
                        got = seen.setdefault(chat, set())
                        if seq in got:
                            stats["dups"] += 1
                        got.add(seq)
                        content = p["content"]
                        if content.startswith("t="):
                            latencies.append(now - float(content[2:]))
                    if s.pending is not None and p.get("client_id") == s.pending:
                        s.ack.set()
                elif kind == "error":
                    stats["errors"] += 1
                    if len(error_samples) < 5:
                        error_samples.append(str(raw)[:200])
        except Exception:  # noqa: S110 - the socket closed; its seqs so far still count
            pass
        finally:
            s.seqs = {c: sorted(v) for c, v in seen.items()}

    readers = [asyncio.create_task(reader(s)) for s in connected]
    ready_q.put({"wid": job["wid"], "connected": len(connected), "connect_s": connect_s})
    # Warm-up: every sender's first message, all at once, before the measured window (concurrent first
    # sends on cold sockets are when ordering bugs show); its deliveries are counted apart (the
    # orchestrator knows its seqs) and its latency is not.
    await _wait_for(warm)
    warm_frames = [(s.ws, frame(s, time.time(), -1)) for s in connected if s.spec.get("warm")]
    await asyncio.gather(*(ws.send(text) for ws, text in warm_frames if ws is not None))
    await asyncio.sleep(1.5)
    latencies.clear()
    ready_q.put({"wid": job["wid"], "warmed": True})
    await _wait_for(go)
    begin = start_at.value
    deadline = begin + job["duration"]
    await asyncio.sleep(max(0.0, begin - time.time()))

    async def closed_sender(s: Sock) -> None:
        assert s.ws is not None
        n = 0
        while time.time() < deadline:
            s.ack.clear()
            await s.ws.send(frame(s, time.time(), n))
            stats["sent"] += 1
            n += 1
            try:
                await asyncio.wait_for(s.ack.wait(), timeout=max(1.0, deadline + 10 - time.time()))
            except TimeoutError:
                stats["ack_timeouts"] += 1
                return
            stats["acked"] += 1

    async def open_sender(s: Sock, rate: float, offset: float) -> None:
        assert s.ws is not None
        n = 0
        while True:
            due = begin + offset + n / rate
            if due >= deadline:
                return
            wait = due - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                stats["max_lag_ms"] = max(stats["max_lag_ms"], -wait * 1000)
            await s.ws.send(frame(s, due, n))
            stats["sent"] += 1
            n += 1

    senders = [s for s in connected if s.spec.get("sender")]
    if mode == "closed":
        tasks = [closed_sender(s) for s in senders]
    else:
        rate = job["rate_per_sender"]
        tasks = [open_sender(s, rate, i / (rate * max(1, len(senders)))) for i, s in enumerate(senders)]
    await asyncio.gather(*tasks, return_exceptions=True)
    # Let deliveries in flight arrive, then stop reading: once no frame has come for `drain` seconds
    # (an overloaded server delivers late, and late is not lost), or a minute after the deadline.
    await asyncio.sleep(max(0.0, deadline + job["drain"] - time.time()))
    while time.time() - last_frame[0] < job["drain"] and time.time() < deadline + 60:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    for s in connected:
        assert s.ws is not None
        s.ws.transport.abort()
    await asyncio.gather(*readers, return_exceptions=True)
    return {
        "wid": job["wid"],
        "connected": len(connected),
        "latencies": latencies,
        **stats,
        "error_samples": error_samples,
        "seqs": [[s.spec["chat_id"], s.seqs.get(s.spec["chat_id"], [])] for s in connected],
    }


def ws_process(
    job: dict[str, Any], ready_q: Any, result_q: Any, go: Any, start_at: Any, stop: Any, warm: Any = None
) -> None:
    """Process entry point: run the job, put its result on result_q."""
    raise_nofile()
    with contextlib.suppress(KeyboardInterrupt):
        result_q.put(asyncio.run(_run(job, ready_q, go, start_at, stop, warm)))
