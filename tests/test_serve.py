"""`python -m chatproject.serve` (make run WORKERS=N): N Daphne processes on one listening socket."""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from websockets.asyncio.client import connect

from accounts.tests.factories import UserFactory
from chatproject import serve
from chats import services as chat_services
from realtime.tests.live import database_url, free_port, http, receive_frame
from realtime.tests.wsclient import access_token

ROOT = Path(__file__).resolve().parent.parent


def serve_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        **extra,
    }


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def connections_by_pid(port: int) -> dict[int, int]:
    """{pid: established connections} on the server side of `port` (from ss)."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: dict[int, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        counts[int(pid)] = counts.get(int(pid), 0) + 1
    return counts


@contextmanager
def serving(workers: int, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chatproject.serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=serve_env(WORKERS=str(workers), **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        base = f"http://127.0.0.1:{port}"
        while len(children_of(process.pid)) < workers or not _healthy(base):
            assert process.poll() is None, f"serve exited with {process.returncode}"
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        yield process, port
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _healthy(base: str) -> bool:
    try:
        return http("GET", f"{base}/healthz")[0] == 200
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_one_port_and_each_serves_sockets():
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    token_a, token_b = access_token(alice), access_token(bob)

    with serving(2) as (process, port):
        workers = children_of(process.pid)
        assert len(workers) == 2

        async def scenario() -> tuple[dict[int, int], dict]:
            url = f"ws://127.0.0.1:{port}/api/ws"
            sockets = [
                await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
                for token in [token_a, token_b] * 10
            ]
            spread = connections_by_pid(port)
            await sockets[0].send(
                json.dumps({"type": "send_message", "payload": {"chat_id": chat.pk, "content": "hi"}})
            )
            # Every one of bob's sockets, whichever process holds it, gets alice's message.
            frames = [await receive_frame(ws, "new_message") for ws in sockets[1::2]]
            for ws in sockets:
                await ws.close()
            return spread, frames[-1]

        spread, frame = asyncio.run(scenario())
        assert frame["payload"]["content"] == "hi"
        # The kernel spread 20 connections over both processes, which are the supervisor's children.
        assert set(spread) == set(workers), spread
        assert sum(spread.values()) == 20

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_dies_is_replaced():
    with serving(2) as (process, port):
        first, second = children_of(process.pid)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while first in children_of(process.pid) or len(children_of(process.pid)) < 2:
            assert time.monotonic() < deadline, "the dead worker was not replaced"
            time.sleep(0.2)
        assert second in children_of(process.pid)
        assert _healthy(f"http://127.0.0.1:{port}")


def test_more_than_one_worker_without_redis_is_refused_clearly():
    result = subprocess.run(
        [sys.executable, "-m", "chatproject.serve", "--port", str(free_port()), "--workers", "2"],
        cwd=ROOT,
        env={**serve_env(), "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "WORKERS=2 needs REDIS_URL" in result.stderr


def test_the_metrics_directory_is_emptied_of_a_previous_runs_values(tmp_path, monkeypatch):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    path, temporary = serve.metrics_directory()

    assert (path, temporary) == (directory, False)
    assert list(directory.iterdir()) == []


def test_without_a_metrics_directory_serve_makes_a_temporary_one_for_its_workers(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)

    path, temporary = serve.metrics_directory()

    try:
        assert temporary
        assert path.is_dir()
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path)
    finally:
        path.rmdir()


@pytest.mark.parametrize(("log_format", "daphne_logs"), [("json", False), ("text", True)])
def test_daphnes_access_log_is_off_only_when_the_app_logs_json(monkeypatch, log_format, daphne_logs):
    monkeypatch.setenv("LOG_FORMAT", log_format)
    with socket.socket() as sock:
        command = serve.daphne_command(sock, ["--proxy-headers"])

    assert ("--access-log" not in command) == daphne_logs
