"""Serve the app with N Daphne processes on one listening socket: `python -m chatproject.serve`.

The socket is bound once here and handed to each Daphne with `--fd` (how Channels' deployment docs
run several Daphne processes on one port): the kernel spreads new connections over the processes
that accept on it, so every core serves without a proxy in front. The processes share sockets'
events through the channel layer, so more than one needs REDIS_URL (the in-memory layer cannot
span processes).

This process only supervises: SIGTERM or SIGINT is passed on to every Daphne, which are given
SHUTDOWN_GRACE_SECONDS to finish, then killed; a Daphne that dies on its own is started again.

Metrics: every Daphne writes its values to files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode), so one scrape of /metrics, whichever process answers it, sums them all. This
process empties that directory before the first Daphne starts (a new temporary one when it is unset,
removed at exit) and marks each Daphne that exits dead, so its open sockets stop counting.
With LOG_FORMAT=json the access log is the app's (chatproject.logs), so Daphne's own is off.
"""

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from prometheus_client import multiprocess

logger = logging.getLogger("chatproject.serve")

APPLICATION = "chatproject.asgi:application"
# A Daphne that dies on its own is restarted, but not faster than this (a crash loop stays visible).
RESTART_DELAY_SECONDS = 1.0
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


# A reconnect storm (a restart of another process) arrives at once: a short accept queue turns the
# overflow into resets, which a client sees as no answer at all. The kernel caps it at somaxconn.
LISTEN_BACKLOG = 4096


# Daphne drops a WebSocket handshake not completed within its --websocket_connect_timeout (5 s by default)
# without a word: under a storm, one still waiting for its turn in the event loop. The app answers every
# handshake it sees within WS_HANDSHAKE_TIMEOUT_SECONDS (realtime.handshake.admission); this only has to outlast
# the wait for that turn, so that no handshake ends in silence.
WEBSOCKET_CONNECT_TIMEOUT = 30


def listening_socket(host: str, port: int, backlog: int = LISTEN_BACKLOG) -> socket.socket:
    """A bound, listening TCP socket that child processes inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def daphne_command(sock: socket.socket, daphne_args: list[str]) -> list[str]:
    """The command that runs one Daphne on the inherited socket."""
    if sock.family == socket.AF_INET6:
        # Twisted's fd endpoint takes the family by number; Daphne's --fd assumes IPv4.
        endpoint = ["-e", f"fd:fileno={sock.fileno()}:domain={int(socket.AF_INET6)}"]
    else:
        endpoint = ["--fd", str(sock.fileno())]
    if os.environ.get("LOG_FORMAT") == "json" and not any(a.startswith("--access-log") for a in daphne_args):
        # One access log, in JSON, with request ids and durations: the app's (chatproject.logs).
        endpoint += ["--access-log", os.devnull]
    if not any(a.startswith("--websocket_connect_timeout") for a in daphne_args):
        endpoint += ["--websocket_connect_timeout", str(WEBSOCKET_CONNECT_TIMEOUT)]
    return [sys.executable, "-m", "daphne", *endpoint, *daphne_args, APPLICATION]


def metrics_directory() -> tuple[Path, bool]:
    """PROMETHEUS_MULTIPROC_DIR emptied for this run (created when unset); whether we created it.

    Files a previous run left would add its processes' counters to this run's.
    """
    configured = os.environ.get(MULTIPROC_DIR)
    if not configured:
        path = Path(tempfile.mkdtemp(prefix="chat-metrics-"))
        os.environ[MULTIPROC_DIR] = str(path)
        return path, True
    path = Path(configured)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path, False


class Supervisor:
    """Runs `workers` Daphne processes on one socket until told to stop."""

    def __init__(
        self, sock: socket.socket, workers: int, daphne_args: list[str], grace: float, metrics_dir: Path
    ):
        self.command = daphne_command(sock, daphne_args)
        self.metrics_dir = metrics_dir
        self.sock = sock
        self.workers = workers
        self.grace = grace
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = False

    def start_one(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, pass_fds=(self.sock.fileno(),))  # noqa: S603 - our own argv

    def exited(self, child: subprocess.Popen[bytes]) -> None:
        """Forget a Daphne that exited in the metrics: its open sockets are gone (its counters stay)."""
        multiprocess.mark_process_dead(child.pid, str(self.metrics_dir))

    def stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """Pass the signal on to every Daphne (once); run() then waits for them."""
        if not self.stopping:
            self.stopping = True
            logger.info("stopping %d Daphne processes (%s)", len(self.children), signal.Signals(signum).name)
            for child in self.children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Start the processes and keep them running until a signal; the exit status."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.children = [self.start_one() for _ in range(self.workers)]
        logger.info(
            "serving on %s with %d Daphne processes: %s",
            self.sock.getsockname()[:2],
            self.workers,
            " ".join(str(c.pid) for c in self.children),
        )
        while not self.stopping:
            time.sleep(0.2)
            for index, child in enumerate(self.children):
                if child.poll() is not None and not self.stopping:
                    logger.warning("Daphne %d exited with %s; starting another", child.pid, child.returncode)
                    self.exited(child)
                    time.sleep(RESTART_DELAY_SECONDS)
                    if not self.stopping:
                        self.children[index] = self.start_one()
        deadline = time.monotonic() + self.grace
        for child in self.children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("Daphne %d did not stop within %.0f s; killing it", child.pid, self.grace)
                child.kill()
                child.wait()
            self.exited(child)
        return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, check the configuration, bind and supervise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    parser.add_argument(
        "--grace",
        type=float,
        default=float(os.environ.get("SHUTDOWN_GRACE_SECONDS", "10")),
        help="seconds each Daphne gets to stop before it is killed",
    )
    parser.add_argument("daphne_args", nargs=argparse.REMAINDER, help="-- then options for each Daphne")
    args = parser.parse_args(argv)
    configure_logging()
    daphne_args = args.daphne_args[1:] if args.daphne_args[:1] == ["--"] else args.daphne_args
    if args.workers < 1:
        parser.error("WORKERS must be 1 or more")
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        parser.error(
            f"WORKERS={args.workers} needs REDIS_URL: the embedded in-memory channel layer cannot "
            "carry messages between processes (set REDIS_URL, or WORKERS=1)"
        )
    try:
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    metrics_dir, temporary = metrics_directory()
    try:
        return Supervisor(sock, args.workers, daphne_args, args.grace, metrics_dir).run()
    finally:
        if temporary:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def configure_logging() -> None:
    """This process's own lines, in the format the Daphne processes use (LOG_FORMAT)."""
    handler = logging.StreamHandler()
    if os.environ.get("LOG_FORMAT") == "json":
        from chatproject.logs import json_formatter

        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


if __name__ == "__main__":
    sys.exit(main())
