"""Start and stop Daphne exactly as production runs it (REDIS_URL, PostgreSQL, DEBUG off)."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from bench.common import REPO, free_port, log, raise_nofile

SECRET_KEY = "bench-only-secret-key-not-for-production-use-0123456789"  # noqa: S105


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment Daphne and the seeding code share (same SECRET_KEY, so tokens verify)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # The load is many sends per socket and user and long runs: lift the per-socket limit and the
        # per-user budget, keep tokens valid.
        WS_SEND_RATE_PER_SECOND="1000000",
        WS_FRAME_RATE_PER_SECOND="1000000",
        WS_FRAME_BURST="1000000",
        THROTTLE_SEND="100000000/min",
        JWT_ACCESS_MINUTES="600",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


class Daphne:
    """Daphne on a free loopback port, its output in a log file.

    With workers > 1, `python -m chatproject.serve` (as `make run WORKERS=N`): N Daphne processes behind
    one address, sharing its listening socket.
    """

    def __init__(
        self, env: dict[str, str], log_path: Path, app: str = "chatproject.asgi:application", workers: int = 1
    ):
        self.port = free_port()
        self.log_path = log_path
        self.workers = workers
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        if workers > 1:
            command = [
                sys.executable,
                "-m",
                "chatproject.serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ]
            command += ["--workers", str(workers), "--", "--websocket-max-message-size", "65536"]
        else:
            # The listen backlog of production's socket (chatproject.serve), not Daphne's default 50.
            endpoint = f"tcp:port={self.port}:interface=127.0.0.1:backlog=4096"
            command = [sys.executable, "-m", "daphne", "-e", endpoint, "--websocket_connect_timeout", "30"]
            command += ["--websocket-max-message-size", "65536", app]
        self.proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_nofile,
        )
        self.wait_ready()

    @property
    def pid(self) -> int:
        """The server's process id (the supervisor's, with several workers)."""
        return self.proc.pid

    @property
    def pids(self) -> list[int]:
        """The processes that serve: the Daphne workers under a supervisor, else the one Daphne."""
        if self.workers == 1:
            return [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    @property
    def http(self) -> str:
        """Base HTTP URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        """The WebSocket URL."""
        return f"ws://127.0.0.1:{self.port}/api/ws"

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll /healthz until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.http}/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200 and len(self.pids) == self.workers:
                        log(f"daphne pid {self.pid} ready on port {self.port}")
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"daphne not ready in {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        """Terminate this server (and only it)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
