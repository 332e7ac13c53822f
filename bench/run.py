"""The benchmark: start Daphne on PostgreSQL + Redis, drive it over real sockets, report.

    .venv/bin/python -m bench.run --quick     # `make bench-quick`: under 3 minutes
    .venv/bin/python -m bench.run             # `make bench`: the full run

Uses its own scratch database (default chat_bench) and Redis db 5; never the test databases.
Writes bench/results/<timestamp>.json and PNG plots, prints a markdown table on stdout.
"""

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import limits, report
from bench.common import (
    REPO,
    RESULTS,
    cpu_seconds,
    dump,
    latency_summary,
    log,
    machine,
    raise_nofile,
    rss_kib,
    tree_cpu_seconds,
)
from bench.restload import rest_process
from bench.servers import Daphne, server_env
from bench.wsload import ws_process

FULL = {
    "fanout_seconds": 20,
    "open_rates": [50, 100, 200, 400, 800, 1600],
    "open_seconds": 10,
    "big_room": 500,
    "big_room_seconds": 20,
    "rest_seconds": 10,
    "deep_messages": 1_000_000,
    "history_requests": 300,
    "offset_requests": 30,
    "idle_steps": [1_000, 10_000],
    "pgbench_seconds": 10,
    "layer_messages": 2000,
    "profile_seconds": 15,
    "sweep_rooms": [200, 500],
    "sweep_senders": [2, 20, 60],
    "sweep_seconds": 10,
    "restart_seconds": 20,
    "restart_stop_at": 5,
    "restart_rate": 5,
}
QUICK = {
    "fanout_seconds": 8,
    "open_rates": [50, 100, 200, 400, 800],
    "open_seconds": 4,
    "big_room": 500,
    "big_room_seconds": 8,
    "rest_seconds": 4,
    "deep_messages": 100_000,
    "history_requests": 100,
    "offset_requests": 10,
    "idle_steps": [1_000],
    "pgbench_seconds": 4,
    "layer_messages": 500,
    "profile_seconds": 0,
    "sweep_rooms": [200],
    "sweep_senders": [2, 20, 60],
    "sweep_seconds": 5,
    "restart_seconds": 10,
    "restart_stop_at": 3,
    "restart_rate": 5,
}
CTX = mp.get_context("spawn")


class Bench:
    """One run: its settings, servers, seeded data and results."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.p = QUICK if args.quick else FULL
        self.db = args.database_url
        self.redis = args.redis_url
        self.env = server_env(self.db, self.redis)
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.servers: list[Daphne] = []
        self.rows: list[dict[str, Any]] = []
        self.cdf: dict[str, list[list[float]]] = {}
        self.result: dict[str, Any] = {}

    # --- setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """Scratch database migrated and seeded, Redis db emptied, Django configured here."""
        from bench import seed

        # The servers keep the app's statement timeout; this process seeds 1,000,000 rows in one statement.
        os.environ.update({**self.env, "DB_QUERY_TIMEOUT_SECONDS": "0"})
        sys.path.insert(0, str(REPO))
        seed.ensure_database(self.db)
        seed.migrate(self.env)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
        django.setup()
        subprocess.run(["redis-cli", "-u", self.redis, "FLUSHDB"], check=True, capture_output=True)
        idle = max(self.p["idle_steps"]) if self.wants(5) else 10
        self.seeded = seed.seed(
            idle_sockets=idle,
            big_room=self.p["big_room"],
            deep_messages=self.p["deep_messages"],
            database_url=self.db,
        )
        from django.db import connections

        connections.close_all()
        seed.vacuum_analyze(self.db)

    def wants(self, scenario: int) -> bool:
        """Whether --only selects this scenario."""
        return not self.args.only or str(scenario) in self.args.only.split(",")

    def server(self, name: str, workers: int = 1) -> Daphne:
        """A new Daphne (workers > 1: that many behind one address), logging to bench/results/logs/."""
        d = Daphne(self.env, RESULTS / "logs" / f"{self.stamp}-{name}.log", workers=workers)
        self.servers.append(d)
        return d

    # --- WebSocket scenarios ----------------------------------------------------------------------

    def ws_run(
        self,
        *,
        urls: list[str],
        chats: list[dict[str, Any]],
        senders_per_chat: int,
        mode: str,
        duration: float,
        procs: int,
        rate: float | None = None,
        drain: float = 2.0,
        watch: list[Daphne] | None = None,
    ) -> tuple[dict[str, Any], list[float]]:
        """Run one WebSocket load; returns (summary, latencies in seconds)."""
        from bench.seed import last_seqs

        chat_ids = [c["chat_id"] for c in chats]
        lo = last_seqs(self.db, chat_ids)
        specs: list[dict[str, Any]] = []
        for chat in chats:
            for j, (_uid, token) in enumerate(chat["members"]):
                specs.append(
                    {
                        "url": urls[len(specs) % len(urls)],
                        "token": token,
                        "chat_id": chat["chat_id"],
                        "sender": j < senders_per_chat,
                        # Every sender's first message leaves at the same instant, on sockets that
                        # have delivered nothing yet: when concurrent broadcasts cross (README "Nothing lost").
                        "warm": j < senders_per_chat,
                        "index": len(specs),
                    }
                )
        senders = sum(1 for s in specs if s["sender"])
        ready_q, result_q = CTX.Queue(), CTX.Queue()
        go, stop, warm = CTX.Event(), CTX.Event(), CTX.Event()
        start_at = CTX.Value("d", 0.0)
        jobs = [
            {
                "wid": w,
                "tag": f"{time.time():.3f}",
                "sockets": specs[w::procs],
                "mode": mode,
                "duration": duration,
                "drain": drain,
                "lo": lo,
                "rate_per_sender": (rate or 0) / max(1, senders),
            }
            for w in range(procs)
        ]
        workers = [
            CTX.Process(target=ws_process, args=(j, ready_q, result_q, go, start_at, stop, warm))
            for j in jobs
        ]
        for w in workers:
            w.start()
        ready = [ready_q.get(timeout=180) for _ in workers]
        connected = sum(r["connected"] for r in ready)
        warm.set()
        for _ in workers:
            ready_q.get(timeout=60)
        mid = last_seqs(self.db, chat_ids)  # the warm-up's messages are (lo, mid]
        watch = watch or self.servers[:1]
        watched = [pid for d in watch for pid in d.pids]
        cpu0 = [cpu_seconds(pid) for pid in watched]
        start_at.value = time.time() + 0.3
        go.set()
        results = [result_q.get(timeout=duration + drain + 120) for _ in workers]
        cpu1 = [cpu_seconds(pid) for pid in watched]
        for w in workers:
            w.join(timeout=30)
        hi = last_seqs(self.db, chat_ids)
        stored = sum(hi[c] - mid[c] for c in chat_ids)
        expected = received = warm_expected = warm_received = 0
        missing: list[list[Any]] = []
        for r in results:
            for chat_id, seqs in r["seqs"]:
                a, m, b = lo[chat_id], mid[chat_id], hi[chat_id]
                expected += b - m
                got = {s for s in seqs if m < s <= b}
                received += len(got)
                warm_expected += m - a
                warm_received += sum(1 for s in seqs if a < s <= m)
                if len(got) < b - m and len(missing) < 10:
                    gone = sorted(set(range(m + 1, b + 1)) - got)
                    missing.append([chat_id, gone[:5], f"of {m + 1}..{b}"])
        # A member whose socket never connected lost everything sent to its chat.
        per_chat_members = {c["chat_id"]: len(c["members"]) for c in chats}
        expected_all = sum((hi[c] - mid[c]) * per_chat_members[c] for c in chat_ids)
        latencies = [x for r in results for x in r["latencies"]]
        summary = {
            "mode": mode,
            "sockets": len(specs),
            "connected": connected,
            "senders": senders,
            "duration_s": duration,
            "offered_sends_per_s": rate,
            "sent": sum(r["sent"] for r in results),
            "stored": stored,
            "sends_per_s": round(stored / duration, 1),
            "deliveries": received,
            "deliveries_per_s": round(received / duration, 1),
            "expected_deliveries": expected_all,
            # The concurrent warm-up's losses count too: they are the cold-socket case.
            "lost": expected_all - received + (warm_expected - warm_received),
            "lost_on_connected_sockets": expected - received,
            "missing_samples": missing,
            # Cold sockets: each chat's first messages after connecting, all senders at once.
            "warmup_lost": warm_expected - warm_received,
            "warmup_expected": warm_expected,
            "duplicates": sum(r["dups"] for r in results),
            "error_frames": sum(r["errors"] for r in results),
            "error_samples": [e for r in results for e in r["error_samples"]][:5],
            "ack_timeouts": sum(r["ack_timeouts"] for r in results),
            "client_max_lag_ms": round(max(r["max_lag_ms"] for r in results), 1),
            "server_cpu_percent": [
                round(100 * (b - a) / duration, 1) for a, b in zip(cpu0, cpu1, strict=True)
            ],
            # The servers' CPU from the start to the last delivery (the drain included), per stored
            # send and per delivered frame: issue 12's per-operation figures.
            "server_cpu_s": round(sum(cpu1) - sum(cpu0), 2),
            "cpu_ms_per_send": round(1000 * (sum(cpu1) - sum(cpu0)) / max(stored, 1), 3),
            "cpu_us_per_delivery": round(1e6 * (sum(cpu1) - sum(cpu0)) / max(received, 1), 1),
            **latency_summary(latencies),
        }
        log(
            f"ws {mode} {rate or ''}: {summary['sends_per_s']} sends/s, {summary['deliveries_per_s']} deliv/s, "
            f"p99 {summary['p99_ms']} ms, lost {summary['lost']}, cpu {summary['server_cpu_percent']} "
            f"({summary['cpu_ms_per_send']} ms/send, {summary['cpu_us_per_delivery']} us/delivery)"
        )
        return summary, latencies

    def scenario_fanout_closed(self) -> None:
        """1: 10 chats x 10 members, 20 senders, one message in flight each."""
        d = self.servers[0]
        s, lat = self.ws_run(
            urls=[d.ws], chats=self.seeded.fanout, senders_per_chat=2, mode="closed",
            duration=self.p["fanout_seconds"], procs=2,
        )  # fmt: skip
        self.result["scenarios"]["1_fanout_closed"] = s
        self.cdf["1 fan-out closed"] = report.cdf_points(lat)

    def scenario_fanout_open(self) -> None:
        """2: the same chats at fixed offered rates, stepping until p99 > 1 s or loss."""
        d = self.servers[0]
        steps = []
        for rate in self.p["open_rates"]:
            s, lat = self.ws_run(
                urls=[d.ws], chats=self.seeded.fanout, senders_per_chat=2, mode="open",
                duration=self.p["open_seconds"], procs=2, rate=rate, drain=3.0,
            )  # fmt: skip
            steps.append(s)
            self.cdf[f"2 open {rate}/s"] = report.cdf_points(lat)
            if (s["p99_ms"] or 0) > 1000 or s["lost"] > 0:
                break
        good = [s for s in steps if (s["p99_ms"] or 1e9) <= 1000 and s["lost"] == 0]
        knee = max((s["offered_sends_per_s"] for s in good), default=None)
        self.result["scenarios"]["2_open_loop"] = {"steps": steps, "capacity_sends_per_s": knee}

    def scenario_big_room(self) -> None:
        """3: one chat of 500 members all connected, one sender at 20 sends/s."""
        d = self.servers[0]
        s, lat = self.ws_run(
            urls=[d.ws], chats=[self.seeded.big_room], senders_per_chat=1, mode="open",
            duration=self.p["big_room_seconds"], procs=2, rate=20, drain=3.0,
        )  # fmt: skip
        self.result["scenarios"]["3_big_room"] = s
        self.cdf["3 big room 500"] = report.cdf_points(lat)

    def scenario_big_room_sweep(self) -> None:
        """8: rooms of 200 and 500 members all connected, 2, 20 and 60 closed-loop senders each (issue 19).

        Each step reports throughput, p50/p99, lost and duplicates (counted after deliveries stop), how
        late the last delivery was, Daphne's CPU per delivered frame, its RSS at the end, and the share
        of new_message frames the local fan-out wrote (from /metrics: frames_fanned_out / frames_sent).
        """
        d = self.servers[0]
        steps = []
        for members in self.p["sweep_rooms"]:
            room = self.seeded.room200 if members == 200 else self.seeded.big_room
            for senders in self.p["sweep_senders"]:
                before = scrape_frames(d.http)
                s, lat = self.ws_run(
                    urls=[d.ws], chats=[room], senders_per_chat=senders, mode="closed",
                    duration=self.p["sweep_seconds"], procs=2, drain=3.0,
                )  # fmt: skip
                after = scrape_frames(d.http)
                sent = after["sent"] - before["sent"]
                s["members"] = len(room["members"])
                s["fast_path_share"] = round((after["fanned"] - before["fanned"]) / sent, 4) if sent else None
                s["daphne_rss_mib"] = round(rss_kib(d.pid) / 1024, 1)
                log(f"sweep {members} members x {senders} senders: fast path {s['fast_path_share']}, "
                    f"rss {s['daphne_rss_mib']} MiB")  # fmt: skip
                steps.append(s)
                self.cdf[f"8 room {members} x {senders}"] = report.cdf_points(lat)
        self.result["scenarios"]["8_big_room_sweep"] = {"steps": steps}

    def scenario_storm(self) -> None:
        """9: a reconnect storm against one process: 100 users x 20 sockets opening at once (issue 19)."""
        from bench.storm import storm_process

        d = self.server("storm")  # a fresh process with no sockets
        users = [m[1] for c in self.seeded.fanout for m in c["members"]][:100]
        tokens = [t for t in users for _ in range(20)]
        q = CTX.Queue()
        cpu0 = cpu_seconds(d.pid)
        w = CTX.Process(target=storm_process, args=(d.ws, tokens, 60.0, q))
        w.start()
        s = q.get(timeout=180)
        w.join(timeout=30)
        s["server_cpu_s"] = round(cpu_seconds(d.pid) - cpu0, 2)
        log(f"storm: {s['opened']}/{s['sockets']} open, 99 % in {s['p99_open_s']} s, all in {s['all_open_s']} s, median {s['median_open_s']} s, "
            f"{s['handshakes_per_s']}/s, shed {s['shed_server_busy']}, unanswered {s['unanswered']}")  # fmt: skip
        self.result["scenarios"]["9_storm"] = s
        d.stop()
        self.servers.remove(d)

    def scenario_rolling_restart(self) -> None:
        """10: a rolling restart under load (issue 19). Two Daphne processes behind one port (make run
        WORKERS=2), the 100 users of the fan-out chats with 20 sockets each (2,000), one sender per chat
        at restart_rate sends/s over REST; SIGTERM to one Daphne after restart_stop_at s. Its sockets
        reconnect and resume (bench/restart.py): the time until all are back, lost, duplicates, late."""
        from django.db.models import Max

        from bench.restart import Sender, Socket, rolling_restart
        from messaging.models import Message

        raise_nofile()
        pair = self.server("restart", workers=2)
        chats = self.seeded.fanout
        newest = dict(
            Message.objects.filter(chat_id__in=[c["chat_id"] for c in chats])
            .values_list("chat_id").annotate(Max("seq")).values_list("chat_id", "seq__max")
        )  # fmt: skip
        sockets = [
            Socket(token, c["chat_id"], newest.get(c["chat_id"], 0))
            for c in chats for _, token in c["members"] for _ in range(20)
        ]  # fmt: skip
        senders = [Sender(c["members"][0][1], c["chat_id"]) for c in chats]
        stopped: list[int] = []

        def stop_one() -> None:
            stopped.append(pair.pids[0])
            os.kill(stopped[0], signal.SIGTERM)

        cpu0 = tree_cpu_seconds(pair.pid)
        s = asyncio.run(
            rolling_restart(
                url=pair.ws, base=pair.http, sockets=sockets, senders=senders, rate=self.p["restart_rate"],
                duration=self.p["restart_seconds"], stop_at=self.p["restart_stop_at"], stop_one=stop_one,
            )
        )  # fmt: skip
        cpu = tree_cpu_seconds(pair.pid) - cpu0
        # The CPU of the whole run, the opening of 2,000 sockets included, over what was delivered live.
        s["cpu_us_per_delivery"] = round(1e6 * cpu / max(s["deliveries"], 1), 1)
        log(f"rolling restart: {s['sockets_restarted']} of {s['sockets']} sockets restarted, all back in "
            f"{s['all_back_s']} s, lost {s['lost']}, duplicates {s['duplicates']}, {s['sends_per_s']} sends/s, "
            f"p99 {s['p99_ms']} ms, closes {s['close_codes']}")  # fmt: skip
        self.result["scenarios"]["10_rolling_restart"] = s
        pair.stop()
        self.servers.remove(pair)

    def scenario_scale_out(self) -> None:
        """6: scenario 1 on two Daphne processes behind one address (make run WORKERS=2), sharing Redis."""
        pair = self.server("workers2", workers=2)
        s, lat = self.ws_run(
            urls=[pair.ws], chats=self.seeded.fanout, senders_per_chat=2, mode="closed",
            duration=self.p["fanout_seconds"], procs=2, watch=[pair],
        )  # fmt: skip
        self.result["scenarios"]["6_scale_out"] = s
        self.cdf["6 two processes"] = report.cdf_points(lat)
        pair.stop()
        self.servers.remove(pair)

    def scenario_idle(self) -> None:
        """5: how many authenticated idle sockets one process holds, and its memory per socket."""
        d = self.server("idle")  # a fresh process, so earlier scenarios' garbage does not count
        time.sleep(1.0)
        base = rss_kib(d.pid)
        tokens = self.seeded.idle_tokens
        ready_q, result_q = CTX.Queue(), CTX.Queue()
        go, stop = CTX.Event(), CTX.Event()
        start_at = CTX.Value("d", 0.0)
        workers: list[Any] = []
        steps = []
        held = 0
        try:
            for target in self.p["idle_steps"]:
                add = tokens[held:target]
                per_proc = 2500
                began = time.time()
                new = []
                for k in range(0, len(add), per_proc):
                    chunk = add[k : k + per_proc]
                    specs = [{"url": d.ws, "token": t, "chat_id": 0, "index": i} for i, t in enumerate(chunk)]
                    job = {
                        "wid": len(workers) + len(new),
                        "sockets": specs,
                        "mode": "idle",
                        "connect_concurrency": 25,
                    }
                    new.append(
                        CTX.Process(target=ws_process, args=(job, ready_q, result_q, go, start_at, stop))
                    )
                for w in new:
                    w.start()
                ready = [ready_q.get(timeout=600) for _ in new]
                workers += new
                held = target
                connect_s = time.time() - began
                time.sleep(2.0)
                alive = sum(r["alive"] for r in ready) + sum(s["alive_new"] for s in steps)
                rss = rss_kib(d.pid)
                step = {
                    "target": target,
                    "alive_new": sum(r["alive"] for r in ready),
                    "alive": alive,
                    "connect_s": round(connect_s, 1),
                    "connects_per_s": round(len(add) / connect_s, 1),
                    "rss_base_mib": round(base / 1024, 1),
                    "rss_mib": round(rss / 1024, 1),
                    "kib_per_socket": round((rss - base) / max(1, alive), 1),
                    "server_alive": d.proc.poll() is None,
                }
                steps.append(step)
                log(
                    f"idle: {alive} sockets alive, rss {step['rss_mib']} MiB, {step['kib_per_socket']} KiB/socket"
                )
        finally:
            stop.set()
            for _ in workers:
                with contextlib.suppress(Exception):
                    result_q.get(timeout=120)
            for w in workers:
                w.join(timeout=30)
        self.result["scenarios"]["5_idle_sockets"] = {"steps": steps}
        d.stop()
        self.servers.remove(d)

    # --- REST ----------------------------------------------------------------------------------------

    def rest_job(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Run one REST job in its own process."""
        q = CTX.Queue()
        w = CTX.Process(target=rest_process, args=(job, q))
        w.start()
        r: dict[str, Any] = q.get(timeout=timeout)
        w.join(timeout=30)
        return r

    def scenario_rest(self) -> None:
        """4: POST send at concurrency 8 and 32; history newest, deep keyset and deep offset pages."""
        d = self.servers[0]
        pairs = [[c["chat_id"], m[1]] for c in self.seeded.fanout for m in c["members"]]
        out: dict[str, Any] = {"send": [], "history": []}
        for conc in (8, 32):
            job = {
                "kind": "send",
                "base": d.http,
                "pairs": pairs,
                "concurrency": conc,
                "duration": self.p["rest_seconds"],
            }
            cpu0 = cpu_seconds(d.pid)
            r = self.rest_job(job, self.p["rest_seconds"] + 120)
            cpu = cpu_seconds(d.pid) - cpu0
            s = {
                "concurrency": conc,
                "requests": r["requests"],
                "codes": r["codes"],
                "requests_per_s": round(r["requests"] / r["elapsed_s"], 1),
                "server_cpu_percent": round(100 * cpu / r["elapsed_s"], 1),
                **latency_summary(r["latencies"]),
            }
            log(f"rest send c={conc}: {s['requests_per_s']}/s p99 {s['p99_ms']} ms codes {s['codes']}")
            out["send"].append(s)
        deep = self.seeded.deep
        n = deep["messages"]
        base = f"{d.http}/api/messages/get?chat_id={deep['chat_id']}&limit=50"
        pages = [
            ("newest page", base, self.p["history_requests"]),
            ("keyset, middle (before_seq=N/2)", f"{base}&before_seq={n // 2}", self.p["history_requests"]),
            ("keyset, oldest (before_seq=51)", f"{base}&before_seq=51", self.p["history_requests"]),
            ("keyset, catch-up (after_seq=N/2)", f"{base}&after_seq={n // 2}", self.p["history_requests"]),
            ("offset, middle (offset=N/2)", f"{base}&offset={n // 2}", self.p["offset_requests"]),
            ("offset, oldest (offset=N-50)", f"{base}&offset={n - 50}", self.p["offset_requests"]),
        ]
        for label, url, count in pages:
            r = self.rest_job({"kind": "history", "url": url, "token": deep["token"], "count": count}, 600)
            s = {"page": label, "requests": r["requests"], "codes": r["codes"], "page_size": r["page_size"],
                 **latency_summary(r["latencies"])}  # fmt: skip
            log(f"history {label}: p50 {s['p50_ms']} p99 {s['p99_ms']} ms")
            out["history"].append(s)
        out["deep_chat_messages"] = n
        self.result["scenarios"]["4_rest"] = out

    # --- limits and profile --------------------------------------------------------------------------

    def scenario_limits(self) -> None:
        """7: pgbench of the send transaction, redis-benchmark PUBLISH, the channel layer alone."""
        npairs = sum(len(c["members"]) for c in self.seeded.fanout)
        out = {
            "pgbench_send": [
                limits.pgbench_send(self.db, c, self.p["pgbench_seconds"], npairs) for c in (8, 20, 32)
            ],
            "redis_publish": [limits.redis_publish(self.redis, c, 100_000) for c in (8, 32)],
            "channel_layer": limits.channel_layer_fanout(self.redis, self.p["layer_messages"]),
        }
        self.result["scenarios"]["7_limits"] = out

    def profile(self) -> None:
        """py-spy (GIL holder only, i.e. CPU) on Daphne during extra runs of scenarios 1 and 3."""
        secs = self.p["profile_seconds"] or 8
        d = self.servers[0]
        runs = {
            "fanout": {"chats": self.seeded.fanout, "senders_per_chat": 2, "mode": "closed"},
            "big_room": {"chats": [self.seeded.big_room], "senders_per_chat": 1, "mode": "open", "rate": 20},
        }
        self.result["profile"] = {}
        for name, kw in runs.items():
            raw = RESULTS / f"{self.stamp}-pyspy-{name}.txt"
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(d.pid), "-d", str(secs + 3),
                 "-r", "100", "--gil", "--format", "raw", "-o", str(raw), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            self.ws_run(urls=[d.ws], duration=secs, procs=2, **kw)
            spy.wait(timeout=60)
            self.result["profile"][name] = summarise_profile(raw) if raw.exists() else {"error": "no output"}

    # --- the run -------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Every selected scenario, in an order where none disturbs another."""
        started = time.time()
        self.result = {
            "started": self.stamp,
            "machine": machine(),
            "command": self.args.command,
            "mode": "quick" if self.args.quick else "full",
            "params": self.p,
            "scenarios": {},
        }
        self.setup()
        try:
            if self.wants(7):
                self.scenario_limits()  # before the sockets: pgbench writes into the fan-out chats
            self.server("main")
            for n, fn in (
                (1, self.scenario_fanout_closed),
                (2, self.scenario_fanout_open),
                (3, self.scenario_big_room),
                (6, self.scenario_scale_out),
                (8, self.scenario_big_room_sweep),
                (9, self.scenario_storm),
                (10, self.scenario_rolling_restart),
                (4, self.scenario_rest),
                (5, self.scenario_idle),
            ):
                if self.wants(n):
                    try:
                        fn()
                    except Exception as exc:  # keep the other scenarios" figures
                        log(f"scenario {n} failed: {exc!r}")
                        self.result["scenarios"][f"{n}_failed"] = repr(exc)
            if self.args.profile:
                self.profile()
        finally:
            for d in list(self.servers):
                d.stop()
        self.result["elapsed_s"] = round(time.time() - started, 1)
        self.result["cdf"] = self.cdf
        return self.result


def scrape_frames(base: str) -> dict[str, float]:
    """{"sent": new_message frames sent, "fanned": frames the local fan-out wrote} from Daphne's /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:  # noqa: S310 - our own server
        text = response.read().decode()
    out = {"sent": 0.0, "fanned": 0.0}
    for line in text.splitlines():
        if line.startswith('chat_websocket_frames_sent_total{type="new_message"}'):
            out["sent"] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("chat_websocket_frames_fanned_out_total"):
            out["fanned"] = float(line.rsplit(" ", 1)[1])
    return out


def summarise_profile(raw: Path, top: int = 40) -> dict[str, Any]:
    """Inclusive and self sample shares per function from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].split("/")[-1] + ")" if " (" in f else f
                  for f in stack.split(";")]  # fmt: skip
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n

    def share(d: dict[str, int]) -> list[list[Any]]:
        return [[k, round(100 * v / total, 1)] for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {
        "samples": total,
        "file": raw.name,
        "inclusive_percent": share(inclusive),
        "self_percent": share(own),
    }


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The table: each scenario's throughput, latency, loss, and its ratio to the matching limit."""
    sc = result["scenarios"]
    lim = sc.get("7_limits", {})
    pg = {r["clients"]: r["tps"] for r in lim.get("pgbench_send", [])}
    layer = lim.get("channel_layer", {}).get("pubsub", {})
    out: list[dict[str, Any]] = []

    def ratio(x: float | None, limit: float | None) -> str | None:
        return f"{x / limit:.0%}" if x and limit else None

    def ws_row(name: str, s: dict[str, Any], target: str, offered: str) -> dict[str, Any]:
        return {
            "scenario": name,
            "offered": offered,
            "throughput": f"{s['sends_per_s']:,.0f} sends/s, {s['deliveries_per_s']:,.0f} deliv/s",
            "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"], "p99_ms": s["p99_ms"], "lost": s["lost"],
            "cpu": f"{s['cpu_ms_per_send']:.2f} ms/send, {s['cpu_us_per_delivery']:.0f} µs/frame"
            if "cpu_ms_per_send" in s else None,
            "limit": f"pgbench c=20: {pg.get(20, 0):,.0f} tps" if pg else None,
            "ratio": ratio(s["sends_per_s"], pg.get(20)),
            "target": target,
        }  # fmt: skip

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    if "1_fanout_closed" in sc:
        s = sc["1_fanout_closed"]
        ok = (
            bool(pg.get(20))
            and s["sends_per_s"] >= 0.25 * pg[20]
            and (s["p99_ms"] or 1e9) < 100
            and s["lost"] == 0
        )
        out.append(
            ws_row(
                "1 fan-out closed (20 in flight)",
                s,
                verdict(ok) + ": >=25% pgbench, p99<100, 0 lost",
                "closed",
            )
        )
    for s in sc.get("2_open_loop", {}).get("steps", []):
        out.append(ws_row("2 fan-out open", s, "", f"{s['offered_sends_per_s']}/s"))
    if "2_open_loop" in sc:
        cap = sc["2_open_loop"]["capacity_sends_per_s"]
        out.append({"scenario": "2 capacity (last step p99<=1s, 0 lost)", "throughput": f"{cap} sends/s",
                    "limit": f"pgbench c=20: {pg.get(20, 0):,.0f} tps" if pg else None, "ratio": ratio(cap, pg.get(20))})  # fmt: skip
    if "3_big_room" in sc:
        s = sc["3_big_room"]
        ok = (s["p99_ms"] or 1e9) < 250 and s["lost"] == 0
        row = ws_row("3 big room (500 members)", s, verdict(ok) + ": p99<250, 0 lost", "20/s")
        row["limit"] = f"layer alone: {layer.get('deliveries_per_s', 0):,.0f} deliv/s" if layer else None
        row["ratio"] = ratio(s["deliveries_per_s"], layer.get("deliveries_per_s"))
        out.append(row)
    if "6_scale_out" in sc:
        s = sc["6_scale_out"]
        out.append(
            ws_row("6 scale-out, 2 Daphne, one address", s, verdict(s["lost"] == 0) + ": 0 lost", "closed")
        )
    for s in sc.get("8_big_room_sweep", {}).get("steps", []):
        row = ws_row(f"8 room {s['members']} x {s['senders']} senders", s, "", "closed")
        row["limit"] = f"fast path {s['fast_path_share']:.1%}" if s.get("fast_path_share") else None
        out.append(row)
    if "9_storm" in sc:
        s = sc["9_storm"]
        ok = (s.get("p99_open_s") or 1e9) <= 30 and s["unanswered"] == 0
        out.append({"scenario": f"9 storm, {s['sockets']:,} at once", "throughput": f"{s['handshakes_per_s']} handshakes/s",
                    "p50_ms": (s["median_open_s"] or 0) * 1000, "lost": s["unanswered"],
                    "target": verdict(ok) + ": >=99% open in 30 s, all answered"})  # fmt: skip
    if "10_rolling_restart" in sc:
        s = sc["10_rolling_restart"]
        ok = s["lost"] == 0 and s["duplicates"] == 0 and s["restarted_back"] == s["sockets_restarted"]
        out.append({"scenario": f"10 rolling restart, {s['sockets']:,} sockets", "offered": f"{s['senders']} senders",
                    "throughput": f"{s['sends_per_s']} sends/s", "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"],
                    "lost": s["lost"], "limit": f"{s['sockets_restarted']} back in {s['all_back_s']} s",
                    "target": verdict(ok) + ": 0 lost, 0 twice, all back"})  # fmt: skip
    rest = sc.get("4_rest", {})
    for s in rest.get("send", []):
        c = s["concurrency"]
        target = ""
        if c == 8:
            target = verdict(bool(pg.get(8)) and s["requests_per_s"] >= 0.25 * pg[8]) + ": >=25% pgbench c=8"
        out.append({"scenario": f"4 REST send c={c}", "offered": f"c={c}", "throughput": f"{s['requests_per_s']:,.0f} req/s",
                    "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"], "p99_ms": s["p99_ms"],
                    "limit": f"pgbench c={c}: {pg.get(c, 0):,.0f} tps" if pg else None,
                    "ratio": ratio(s["requests_per_s"], pg.get(c)), "target": target})  # fmt: skip
    for s in rest.get("history", []):
        target = ""
        if s["page"].startswith(("keyset", "newest")):
            target = verdict((s["p99_ms"] or 1e9) < 10) + ": p99<10"
        out.append({"scenario": f"4 history {s['page']} of {rest['deep_chat_messages']:,}", "offered": "c=1",
                    "p50_ms": s["p50_ms"], "p95_ms": s["p95_ms"], "p99_ms": s["p99_ms"], "target": target})  # fmt: skip
    for s in sc.get("5_idle_sockets", {}).get("steps", []):
        ok = s["alive"] >= s["target"] and s["kib_per_socket"] < 100
        out.append({"scenario": f"5 idle sockets, {s['target']:,}", "throughput": f"{s['alive']:,} alive, {s['connects_per_s']:,.0f} conn/s",
                    "limit": f"RSS {s['rss_mib']} MiB", "ratio": f"{s['kib_per_socket']} KiB/socket",
                    "target": (verdict(ok) + ": <100 KiB/socket") if s["target"] >= 10_000 else ""})  # fmt: skip
    for r in lim.get("pgbench_send", []):
        out.append({"scenario": f"7 pgbench send.sql c={r['clients']}", "throughput": f"{r['tps']:,.0f} tps",
                    "p50_ms": None, "target": f"avg {r['latency_avg_ms']} ms"})  # fmt: skip
    for r in lim.get("redis_publish", []):
        out.append(
            {"scenario": f"7 redis-benchmark PUBLISH c={r['clients']}", "throughput": f"{r['rps']:,.0f}/s"}
        )
    if layer:
        out.append({"scenario": "7 pub/sub layer alone, 10x10", "throughput": f"{layer['sends_per_s']:,.0f} sends/s, {layer['deliveries_per_s']:,.0f} deliv/s",
                    "p50_ms": layer["p50_ms"], "p95_ms": layer["p95_ms"], "p99_ms": layer["p99_ms"], "lost": layer["lost"]})  # fmt: skip
    return out


def main() -> None:
    """Parse arguments, run, write JSON + plots, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="short steps, 1,000 idle sockets, 100k-message chat"
    )
    parser.add_argument("--only", default="", help="comma-separated scenario numbers, e.g. 1,7")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="py-spy Daphne during an extra fan-out run (default: on for the full run)")  # fmt: skip
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chat_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    args = parser.parse_args()
    if args.profile is None:
        args.profile = not args.quick
    args.command = " ".join([".venv/bin/python -m bench.run", *sys.argv[1:]])
    result = Bench(args).run()
    stem = RESULTS / result["started"]
    result["table"] = rows(result)
    result["plots"] = report.plots(result, stem)
    dump(stem.with_suffix(".json"), result)
    m = result["machine"]
    print(f"\nMachine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB RAM; PostgreSQL {m['postgres']}, "
          f"Redis {m['redis']}, Python {m['python']}. Load generator on the same cores.")  # fmt: skip
    print(f"Command: {result['command']}  ({result['elapsed_s']} s)\n")
    print(report.table(result["table"]))
    for name, prof in result.get("profile", {}).items():
        if "inclusive_percent" in prof:
            print(f"\nDaphne CPU profile, {name} (py-spy --gil, {prof['samples']} samples), top inclusive:")
            for frame, pct in prof["inclusive_percent"][:25]:
                print(f"  {pct:5.1f}%  {frame}")
    print(f"\nJSON: {stem.with_suffix('.json').relative_to(REPO)}; plots: {', '.join(result['plots'])}")


if __name__ == "__main__":
    main()
