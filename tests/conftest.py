"""A real Daphne process whose database is unreachable, for the outage tests."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
# Nothing listens on port 1: connecting fails at once with "connection refused".
DEAD_DATABASE_URL = "postgres://postgres@127.0.0.1:1/unreachable"


@dataclass
class Reply:
    """One HTTP answer from the server."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LiveServer:
    """A Daphne process on 127.0.0.1:port."""

    port: int

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        raw: bytes | None = None,
        chunked: bool = False,
    ) -> Reply:
        """Send one request; `body` is sent as JSON, `raw` as is (in chunks when `chunked`)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload: Any = raw if raw is not None else None if body is None else json.dumps(body).encode()
            if chunked and payload is not None:
                data = payload
                payload = (data[i : i + 65536] for i in range(0, len(data), 65536))
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=payload, headers=all_headers, encode_chunked=chunked)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"daphne exited early with status {process.returncode}:\n{tail}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("daphne did not start listening in time")


def _start_daphne(extra_env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": DEAD_DATABASE_URL,
        "DB_POOL_TIMEOUT": "1",
        "LOG_LEVEL": "CRITICAL",
        **extra_env,
    }
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "chatproject.asgi:application",
            ],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(port, process, log)
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return process, port


@pytest.fixture(scope="session", params=["pool", "no_pool"])
def dead_database_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Daphne with DATABASE_URL pointing where nothing listens, with and without the psycopg pool."""
    extra = {"DB_POOL_DISABLED": "1"} if request.param == "no_pool" else {}
    log = tmp_path_factory.mktemp("daphne") / f"{request.param}.log"
    process, port = _start_daphne(extra, log)
    try:
        yield LiveServer(port=port)
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
