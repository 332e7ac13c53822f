"""REST load generator: one OS process driving the HTTP API with aiohttp (no Django here)."""

import asyncio
import contextlib
import random
import time
from typing import Any

import aiohttp


async def _send(job: dict[str, Any]) -> dict[str, Any]:
    """`concurrency` workers, each POSTing /api/messages/send back to back until the deadline."""
    pairs = job["pairs"]  # [[chat_id, token]]
    url = job["base"] + "/api/messages/send"
    latencies: list[float] = []
    codes: dict[int, int] = {}
    rng = random.Random(job.get("seed", 1))
    connector = aiohttp.TCPConnector(limit=job["concurrency"])
    async with aiohttp.ClientSession(connector=connector) as session:
        begin = time.time()
        deadline = begin + job["duration"]

        async def worker() -> None:
            while time.time() < deadline:
                chat_id, token = rng.choice(pairs)
                sent = time.time()
                body = {"chat_id": chat_id, "content": f"t={sent:.6f}"}
                async with session.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
                    await r.read()
                    codes[r.status] = codes.get(r.status, 0) + 1
                latencies.append(time.time() - sent)

        await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
        elapsed = time.time() - begin
    return {"requests": len(latencies), "elapsed_s": elapsed, "latencies": latencies, "codes": codes}


async def _history(job: dict[str, Any]) -> dict[str, Any]:
    """`count` sequential GETs of one URL (latency at concurrency 1), after a few warm-up requests."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {job['token']}"}
    size = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for i in range(job["count"] + 3):
            sent = time.perf_counter()
            async with session.get(job["url"], headers=headers) as r:
                body = await r.json()
                codes[r.status] = codes.get(r.status, 0) + 1
            if i >= 3:
                latencies.append(time.perf_counter() - sent)
            size = len(body.get("messages", [])) if isinstance(body, dict) else 0
    return {"requests": len(latencies), "latencies": latencies, "codes": codes, "page_size": size}


def rest_process(job: dict[str, Any], result_q: Any) -> None:
    """Process entry point: run the job, put its result on result_q."""
    with contextlib.suppress(KeyboardInterrupt):
        coro = _send(job) if job["kind"] == "send" else _history(job)
        result_q.put(asyncio.run(coro))
