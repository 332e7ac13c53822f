"""Daphne's CPU time per HTTP request, one endpoint at a time: where the REST budget goes.

    .venv/bin/python -m bench.rest_cpu                 # after `make bench-quick` seeded chat_bench
    .venv/bin/python -m bench.rest_cpu --spy send      # also a py-spy profile of that endpoint

Starts one Daphne on the benchmark's scratch database (BENCH_DATABASE_URL, default chat_bench, which
`make bench` or `make bench-quick` seeds and migrates) and drives it from this process with one
keep-alive connection, one request at a time, for a few seconds per endpoint. CPU is read from
/proc for the Daphne process only, so the figure holds even when the load generator shares the cores;
latency is printed too, but it includes this client.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time

from bench.common import REPO, free_port
from bench.servers import server_env

ENDPOINTS = ("404", "me", "get", "send")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(conn: http.client.HTTPConnection, endpoint: str, token: str, chat_id: int, i: int) -> int:
    """One request of the given kind; returns the status."""
    auth = {"Authorization": f"Bearer {token}"}
    if endpoint == "404":
        conn.request("GET", "/nope")
    elif endpoint == "me":
        conn.request("GET", "/api/me", headers=auth)
    elif endpoint == "get":
        conn.request("GET", f"/api/messages/get?chat_id={chat_id}", headers=auth)
    else:
        body = json.dumps({"chat_id": chat_id, "content": f"cpu probe {i}"})
        conn.request(
            "POST", "/api/messages/send", body=body, headers={**auth, "Content-Type": "application/json"}
        )
    response = conn.getresponse()
    response.read()
    return response.status


def main() -> None:
    """Measure each endpoint; print ms of Daphne CPU per request."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="per endpoint")
    parser.add_argument("--spy", choices=ENDPOINTS, help="py-spy record (GIL holder) during this endpoint")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chat_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    args = parser.parse_args()
    env = server_env(args.database_url, args.redis_url)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    from chats.models import ChatMember

    member = ChatMember.objects.select_related("user").order_by("-chat__last_seq").first()
    assert member is not None, "seed the scratch database first: make bench-quick"
    token = str(AccessToken.for_user(member.user))
    port = free_port()
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "chatproject.asgi:application"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(100):
            try:
                request(conn, "404", token, member.chat_id, 0)
                break
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                time.sleep(0.2)
        print(f"{'endpoint':8} {'requests':>8} {'CPU ms/req':>10} {'p50 ms':>7} {'p99 ms':>7}  status")
        for endpoint in ENDPOINTS:
            for i in range(50):  # warm up: imports, pool connections
                request(conn, endpoint, token, member.chat_id, i)
            spy = None
            if args.spy == endpoint:
                out = REPO / "bench" / "results" / f"rest-cpu-pyspy-{endpoint}.txt"
                spy = subprocess.Popen(
                    [str(REPO / ".venv" / "bin" / "py-spy"), "record", "--gil", "-f", "raw", "-o", str(out),
                     "-d", str(int(args.seconds)), "-p", str(daphne.pid)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                time.sleep(1.0)
            started, latencies, status = cpu_seconds(daphne.pid), [], 0
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline:
                t = time.perf_counter()
                status = request(conn, endpoint, token, member.chat_id, len(latencies))
                latencies.append((time.perf_counter() - t) * 1000)
            cpu_ms = (cpu_seconds(daphne.pid) - started) * 1000 / len(latencies)
            latencies.sort()
            p99 = latencies[int(len(latencies) * 0.99)]
            print(
                f"{endpoint:8} {len(latencies):8} {cpu_ms:10.2f} {statistics.median(latencies):7.2f} {p99:7.2f}  {status}"
            )
            if spy is not None:
                spy.wait()
    finally:
        daphne.terminate()
        daphne.wait()


if __name__ == "__main__":
    main()
