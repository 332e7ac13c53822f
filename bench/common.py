"""Small helpers shared by the benchmark's orchestrator and its load-generator processes (no Django here)."""

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by nearest rank, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_summary(latencies_s: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds, rounded."""

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 2)

    return {
        "p50_ms": ms(percentile(latencies_s, 0.50)),
        "p95_ms": ms(percentile(latencies_s, 0.95)),
        "p99_ms": ms(percentile(latencies_s, 0.99)),
        "max_ms": ms(max(latencies_s) if latencies_s else None),
    }


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, Any]:
    """Cores, memory and software of this machine, stated beside every figure."""
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"

    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres": version(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"]),
        "redis": version(["redis-cli", "-h", "127.0.0.1", "INFO", "server"])
        .split("redis_version:")[-1]
        .split()[0]
        if version(["redis-cli", "-h", "127.0.0.1", "ping"]) == "PONG"
        else "unknown",
    }


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, its children that exited and were reaped, and its children alive now:
    a supervisor's whole tree, a Daphne stopped and replaced in between included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    own_and_reaped = sum(int(x) for x in fields[11:15]) / ticks
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    alive = 0.0
    for child in children:
        with contextlib.suppress(FileNotFoundError):  # exited between the two reads
            alive += cpu_seconds(int(child))
    return own_and_reaped + alive


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def log(msg: str) -> None:
    """Progress on stderr, so stdout keeps only the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def dump(path: Path, data: Any) -> None:
    """Write JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
