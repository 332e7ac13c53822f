"""Real Daphne processes: fan-out across processes through one Redis, and a Redis outage."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging.models import Message
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


def http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@contextmanager
def daphne(redis_url: str) -> Iterator[str]:
    """A Daphne process serving the project on a free port; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    # A file, not a pipe: nobody reads the pipe while the test runs, and a full pipe would block Daphne.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the process
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "chatproject.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if http("GET", f"{base}/healthz")[0] in (200, 503):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"daphne did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def private_redis() -> Iterator[tuple[str, subprocess.Popen]]:
    """A throwaway redis-server of our own, so stopping it does not disturb other tests."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server must be installed to test a Redis outage"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        process.kill()
        process.wait()


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/api/ws"


async def receive_frame(ws, frame_type: str, timeout: float = 10) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == frame_type:
            return frame


def test_two_daphne_processes_fan_out_both_ways():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    token_a, token_b = access_token(alice), access_token(bob)
    redis_url = settings.REDIS_URL

    async def scenario(base_a: str, base_b: str) -> list[dict]:
        headers_a = {"Authorization": f"Bearer {token_a}"}
        headers_b = {"Authorization": f"Bearer {token_b}"}
        async with (
            connect(ws_url(base_a), additional_headers=headers_a) as ws_a,
            connect(ws_url(base_b), additional_headers=headers_b) as ws_b,
        ):
            await ws_a.send(
                json.dumps({"type": "send_message", "payload": {"chat_id": chat.pk, "content": "A->B"}})
            )
            on_b = await receive_frame(ws_b, "new_message")
            await ws_b.send(
                json.dumps({"type": "send_message", "payload": {"chat_id": chat.pk, "content": "B->A"}})
            )
            on_a = [await receive_frame(ws_a, "new_message"), await receive_frame(ws_a, "new_message")]
            return [on_b, *on_a]

    with daphne(redis_url) as base_a, daphne(redis_url) as base_b:
        on_b, own_echo, on_a = asyncio.run(scenario(base_a, base_b))
    assert on_b["payload"]["content"] == "A->B"
    assert on_b["payload"]["sender_id"] == alice.pk
    assert own_echo["payload"]["content"] == "A->B"
    assert on_a["payload"]["content"] == "B->A"
    assert on_a["payload"]["sender_id"] == bob.pk


def test_redis_outage_closes_sockets_1013_while_rest_sends_still_store():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    token_a = access_token(alice)

    with private_redis() as (redis_url, redis_process), daphne(redis_url) as base:

        async def scenario() -> int | None:
            async with connect(ws_url(base), additional_headers={"Authorization": f"Bearer {token_a}"}) as ws:
                await asyncio.sleep(0.5)  # let the consumer join its groups
                redis_process.kill()
                redis_process.wait()
                try:
                    await asyncio.wait_for(ws.recv(), 15)
                except ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else None
            return None

        close_code = asyncio.run(scenario())
        status, body = http(
            "POST", f"{base}/api/messages/send", {"chat_id": chat.pk, "content": "stored"}, token_a
        )
        health_status, health = http("GET", f"{base}/healthz")

    assert close_code == 1013
    assert status == 200
    assert Message.objects.filter(pk=body["id"], content="stored").exists()
    assert health_status == 503
    assert health == {"status": "unavailable", "database": "ok", "channel_layer": "unavailable"}
