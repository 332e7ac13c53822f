"""/metrics under `python -m chatproject.serve` with two Daphne workers: one scrape sums both processes."""

import asyncio
import json
import os
import shutil
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from websockets.asyncio.client import connect

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from realtime.tests.live import receive_frame
from realtime.tests.wsclient import access_token
from tests.test_metrics import scraped
from tests.test_serve import children_of, connections_by_pid, serving

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SOCKETS = 10


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return scraped(response.read())


def open_sockets_of(pid: int, metrics_dir: Path, scratch: Path) -> float:
    """One worker's own open-sockets value, read from its files alone."""
    own = scratch / str(pid)
    own.mkdir()
    for file in metrics_dir.glob(f"*_{pid}.db"):
        shutil.copy(file, own)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(own))
    return registry.get_sample_value("chat_websocket_open") or 0.0


def wait_for(condition: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def chat() -> tuple[Any, Any, Any]:
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    return alice, bob, chat


def headers(user: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(user)}"}


def test_one_scrape_sums_the_sockets_and_messages_of_both_workers(tmp_path: Path, chat: Any) -> None:
    alice, bob, room = chat
    metrics_dir = tmp_path / "metrics"
    with serving(2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as (process, port):
        workers = children_of(process.pid)
        url = f"ws://127.0.0.1:{port}/api/ws"
        credentials = [headers(user) for user in [alice, bob] * (SOCKETS // 2)]

        async def scenario() -> tuple[dict[int, int], list[dict[str, float]], dict[int, float]]:
            sockets = [await connect(url, additional_headers=h) for h in credentials]
            spread = connections_by_pid(port)
            for index, ws in enumerate(sockets[::2]):
                text = f"hello {index}"
                await ws.send(
                    json.dumps({"type": "send_message", "payload": {"chat_id": room.pk, "content": text}})
                )
                for bob_ws in sockets[1::2]:
                    while (await receive_frame(bob_ws, "new_message"))["payload"]["content"] != text:
                        pass
            # Two scrapes: the kernel may hand each to either worker; both read every worker's files.
            scrapes = [scrape(port), scrape(port)]
            own = {pid: open_sockets_of(pid, metrics_dir, tmp_path) for pid in workers}
            for ws in sockets:
                await ws.close()
            return spread, scrapes, own

        spread, scrapes, own = asyncio.run(scenario())
        wait_for(lambda: scrape(port)["chat_websocket_open{}"] == 0)
        after = scrape(port)

    # Both workers held sockets, each counted its own, and every scrape showed their sum.
    assert set(spread) == set(workers), spread
    assert all(own[pid] == spread[pid] for pid in workers), (own, spread)
    for values in scrapes:
        assert values["chat_websocket_open{}"] == SOCKETS
        assert values["chat_messages_sent_total{}"] == SOCKETS // 2
        assert values["chat_websocket_frames_received_total{type=send_message}"] == SOCKETS // 2
        # Each bob socket got each message once; each alice socket its own answer once.
        assert values["chat_websocket_frames_sent_total{type=new_message}"] == SOCKETS // 2 * SOCKETS
        assert values["chat_broadcast_delivery_seconds_count{}"] >= SOCKETS // 2 * (SOCKETS // 2)
    assert after["chat_websocket_closes_total{code=1000}"] == SOCKETS


def test_a_dead_workers_sockets_stop_counting_and_its_counters_stay(tmp_path: Path, chat: Any) -> None:
    alice, bob, room = chat
    metrics_dir = tmp_path / "metrics"
    with serving(2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as (process, port):
        url = f"ws://127.0.0.1:{port}/api/ws"
        credentials = [headers(user) for user in [alice, bob] * (SOCKETS // 2)]

        async def scenario() -> tuple[dict[int, int], dict[str, float], dict[str, float]]:
            sockets = [await connect(url, additional_headers=h) for h in credentials]
            spread = connections_by_pid(port)
            await sockets[0].send(
                json.dumps({"type": "send_message", "payload": {"chat_id": room.pk, "content": "x"}})
            )
            await receive_frame(sockets[1], "new_message")
            before = scrape(port)
            victim = next(iter(spread))
            os.kill(victim, signal.SIGKILL)
            wait_for(lambda: victim not in children_of(process.pid))
            await asyncio.sleep(0.5)  # the supervisor marks it dead on its next look
            after = await asyncio.to_thread(scrape, port)
            for ws in sockets:
                await ws.close()
            return spread, before, {**after, "victim": float(victim)}

        spread, before, after = asyncio.run(scenario())

    victim = int(after["victim"])
    assert before["chat_websocket_open{}"] == SOCKETS
    assert after["chat_websocket_open{}"] == SOCKETS - spread[victim]
    assert after["chat_messages_sent_total{}"] == before["chat_messages_sent_total{}"] == 1
