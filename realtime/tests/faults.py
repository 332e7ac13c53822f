"""Fault injection for tests on real processes: a private PostgreSQL cluster and pausable servers.

Never the shared servers: every fault test starts its own redis-server (live.private_redis) and
PostgreSQL (private_postgres) on free ports and pauses, stops or kills only those.
"""

import asyncio
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from realtime.tests.live import ROOT, free_port, http, ws_url

PG_USER = "postgres"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    assert path, f"{name} (PostgreSQL server binaries) must be installed for the fault tests"
    return path


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the postgres OS user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *args]
    return args


def pause(pids: list[int]) -> None:
    """SIGSTOP: the processes keep their sockets open but answer nothing (a hung server)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)


def resume(pids: list[int]) -> None:
    """SIGCONT after pause()."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster of our own: its URL, and stop/start/pause/resume."""

    datadir: Path
    port: int
    paused: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/chat"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-w", "-t", "60", *args]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} -c fsync=off"
        self._ctl("-o", options, "-l", str(self.datadir / "server.log"), "start")

    def stop(self) -> None:
        """A clean, fast shutdown: open connections are terminated."""
        self._ctl("-m", "fast", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every child (backends, background workers)."""
        postmaster = int((self.datadir / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    children.append(int(Path(stat).parent.name))
        return [postmaster, *children]

    def pause(self) -> None:
        """Stop every process of the cluster: connections stay open, nothing answers."""
        self.paused = self.pids()
        pause(self.paused)

    def resume(self) -> None:
        """Continue after pause()."""
        resume(self.paused)
        self.paused = []

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one query on the cluster's `chat` database (for invariant checks)."""
        with psycopg.connect(self.url, connect_timeout=10) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A migrated PostgreSQL cluster in a temporary directory on a free port, removed afterwards."""
    datadir = Path(tempfile.mkdtemp(prefix="chat-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, PG_USER, PG_USER)
    cluster = PrivatePostgres(datadir=datadir, port=free_port())
    try:
        subprocess.run(
            _as_postgres([_pg_bin("initdb"), "-D", str(datadir), "-A", "trust", "-U", PG_USER, "--no-sync"]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cluster.start()
        with psycopg.connect(
            f"postgres://{PG_USER}@127.0.0.1:{cluster.port}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE chat")
        env = {**os.environ, "DATABASE_URL": cluster.url, "DEBUG": "1"}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.resume()
        with contextlib.suppress(Exception):
            subprocess.run(
                _as_postgres([_pg_bin("pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
            )
        shutil.rmtree(datadir, ignore_errors=True)


# --- the public API, as a client uses it ---------------------------------------------------------


@dataclass
class Account:
    """A registered user: id and access token."""

    id: int
    token: str


def register(base: str, name: str) -> Account:
    """Register and log in over REST."""
    password = "a-long-test-password-1"  # a throwaway test account
    email = f"{name}@example.com"
    status, body = http(
        "POST", f"{base}/api/register", {"username": name, "email": email, "password": password}
    )
    assert status == 201, body
    user_id = int(body["id"])
    status, body = http("POST", f"{base}/api/login", {"email": email, "password": password})
    assert status == 200, body
    return Account(id=user_id, token=body["access_token"])


def private_chat(base: str, one: Account, other: Account) -> int:
    """POST /api/chats/private: the chat's id."""
    status, body = http("POST", f"{base}/api/chats/private", {"user_id": other.id}, one.token)
    assert status == 200, body
    return int(body["id"])


def wait_until(check: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    """Poll `check` until it holds (for events that have no notification, like a process's restart)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


async def collect_new_messages(
    ws: Any, chat_id: int, expect_seq: int | None = None, content: str | None = None, timeout: float = 30
) -> list[dict]:
    """`new_message` payloads of `chat_id` until one with seq `expect_seq` (or with `content`) arrives."""
    got: list[dict] = []

    def done() -> bool:
        if not got:
            return False
        if content is not None:
            return bool(got[-1]["content"] == content)
        return bool(got[-1]["seq"] >= (expect_seq or 0))

    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"timed out at {[m['seq'] for m in got]} waiting for {expect_seq or content}"
        frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        if frame["type"] == "new_message" and frame["payload"]["chat_id"] == chat_id:
            got.append(frame["payload"])
    return got


class RedisServer:
    """A private redis-server on a fixed free port that can be killed, restarted, paused and resumed."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server must be installed for the fault tests"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._listening, timeout=10, what="redis-server to listen")

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL: every connection drops at once."""
        if self.process is not None:
            resume([self.process.pid])
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open, nothing answers."""
        assert self.process is not None
        pause([self.process.pid])

    def resume(self) -> None:
        """SIGCONT after pause()."""
        assert self.process is not None
        resume([self.process.pid])


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A started RedisServer, killed afterwards."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.kill()


# --- sockets, as a reconnecting client uses them ---------------------------------------------------


def bearer_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def close_code_of_handshake(base: str, token: str, timeout: float = 20) -> int | None:
    """Open a socket and wait for the server to close it: its close code (the handshake was accepted).

    An HTTP refusal of the handshake raises websockets' InvalidStatus instead.
    """
    async with connect(ws_url(base), additional_headers=bearer_headers(token), open_timeout=timeout) as ws:
        try:
            while True:
                await asyncio.wait_for(ws.recv(), timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
    return None


async def resume_on_new_socket(
    base: str, token: str, cursors: dict[int, int], timeout: float = 60
) -> tuple[ClientConnection, dict[int, list[dict]]]:
    """Reconnect as a client does (again after each 1013) and send `resume` as the first frame.

    Returns the open socket and, per chat, the `new_message` payloads replayed before `resumed`.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, "no socket could resume in time"
        ws = await connect(ws_url(base), additional_headers=bearer_headers(token), open_timeout=remaining)
        replayed: dict[int, list[dict]] = {chat_id: [] for chat_id in cursors}
        try:
            resume_frame = {"chats": {str(chat_id): seq for chat_id, seq in cursors.items()}}
            await ws.send(json.dumps({"type": "resume", "payload": resume_frame}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
                if frame["type"] == "resumed":
                    return ws, replayed
                if frame["type"] == "new_message" and frame["payload"]["chat_id"] in replayed:
                    replayed[frame["payload"]["chat_id"]].append(frame["payload"])
        except ConnectionClosed as closed:
            # 1013: the server is still recovering; a client waits a moment and reconnects.
            code = closed.rcvd.code if closed.rcvd else None
            if code != 1013:
                raise AssertionError(f"socket closed with {code}, not 1013") from closed
            await asyncio.sleep(0.5)


async def send_frame(ws: ClientConnection, chat_id: int, content: str) -> None:
    """A `send_message` frame."""
    await ws.send(json.dumps({"type": "send_message", "payload": {"chat_id": chat_id, "content": content}}))


def rest_send(base: str, token: str, chat_id: int, content: str) -> tuple[int, dict, float]:
    """POST /api/messages/send: (status, body, seconds taken)."""
    started = time.monotonic()
    status, body = http("POST", f"{base}/api/messages/send", {"chat_id": chat_id, "content": content}, token)
    return status, body, time.monotonic() - started


def seqs(messages: list[dict]) -> list[int]:
    return [m["seq"] for m in messages]
