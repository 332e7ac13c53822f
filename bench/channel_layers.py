"""Compare channels-redis's core and pub/sub layers on the fan-out pattern this app uses.

Usage: REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/channel_layers.py [--groups 10 --members 10 --messages 500]

Each group has `members` receiving channels; one sender does group_send of `messages` messages
round-robin over the groups, as fast as it can (`--rate` to pace it). Reports sends/s, deliveries/s,
send->receive latency percentiles and lost deliveries for each layer, as JSON and a table.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import time
from typing import Any

from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(layer: Any, groups: int, members: int, messages: int, rate: float | None) -> dict[str, Any]:
    channels: dict[int, list[str]] = {}
    for g in range(groups):
        channels[g] = []
        for _ in range(members):
            name = await layer.new_channel()
            await layer.group_add(f"bench.{g}", name)
            channels[g].append(name)
    expected = messages * members  # each send reaches one group of `members` channels
    latencies: list[float] = []
    received = 0
    done = asyncio.Event()

    async def reader(name: str) -> None:
        nonlocal received
        while True:
            message = await layer.receive(name)
            latencies.append(time.perf_counter() - message["sent"])
            received += 1
            if received >= expected:
                done.set()

    readers = [asyncio.create_task(reader(n)) for names in channels.values() for n in names]
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    for i in range(messages):
        await layer.group_send(
            f"bench.{i % groups}", {"type": "chat.event", "sent": time.perf_counter(), "i": i}
        )
        if rate:
            await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
    send_elapsed = time.perf_counter() - start
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=30)
    elapsed = time.perf_counter() - start
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for g, names in channels.items():
        for n in names:
            await layer.group_discard(f"bench.{g}", n)
    return {
        "sends_per_s": round(messages / send_elapsed, 1),
        "deliveries_per_s": round(received / elapsed, 1),
        "expected_deliveries": expected,
        "lost": expected - received,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument(
        "--rate", type=float, default=None, help="sends per second (default: as fast as possible)"
    )
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    results = {}
    for name, factory in (
        ("core", lambda: RedisChannelLayer(hosts=[url], capacity=10000)),
        ("pubsub", lambda: RedisPubSubChannelLayer(hosts=[url])),
    ):
        layer = factory()
        results[name] = await run(layer, args.groups, args.members, args.messages, args.rate)
        if hasattr(layer, "flush"):
            await layer.flush()
    report = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "command": " ".join(["bench/channel_layers.py", *os.sys.argv[1:]]),
        "params": vars(args),
        "results": results,
    }
    print(json.dumps(report, indent=2))
    print("\n| layer | sends/s | deliveries/s | p50 ms | p95 ms | p99 ms | lost |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['sends_per_s']} | {r['deliveries_per_s']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p99_ms']} | {r['lost']} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
