"""Helpers for tests against real Daphne processes (and a private redis-server) on this machine."""

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
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
LISTEN_BACKLOG = 4096


# Ports this test process has handed out: the kernel may offer a released port again, and two servers
# told the same port would have one answer the other's health check while the second exits.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on now, never the same twice in one test run."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


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


@dataclass
class DaphneServer:
    """A running Daphne process: its base URL and the process (to kill it)."""

    base: str
    process: subprocess.Popen


@contextmanager
def daphne_server(
    redis_url: str, env: dict[str, str] | None = None, args: list[str] | None = None
) -> Iterator[DaphneServer]:
    """A Daphne process serving the project on a free port, with extra environment `env` and options `args`."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # As the root conftest does in-process: generous unless a test sets its own.
        "THROTTLE_SEND": "100000/min",
        **(env or {}),
    }
    # A file, not a pipe: nobody reads the pipe while the test runs, and a full pipe would block Daphne.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            # Production's listen backlog (chatproject.serve), not Daphne's default of 50, which a
            # storm of connects overflows into resets.
            "-e",
            f"tcp:port={port}:interface=127.0.0.1:backlog={LISTEN_BACKLOG}",
            # As chatproject.serve: Daphne's own handshake timeout would drop a waiting handshake silently.
            "--websocket_connect_timeout",
            "30",
            *(args or []),
            "chatproject.asgi:application",
        ],
        cwd=ROOT,
        env=full_env,
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
        yield DaphneServer(base, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@contextmanager
def daphne(redis_url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A Daphne process serving the project on a free port; yields its base URL."""
    with daphne_server(redis_url, env) as server:
        yield server.base


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
    """The next frame of `frame_type`, skipping others."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if frame["type"] == frame_type:
            return frame
