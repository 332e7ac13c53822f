"""The limits under the app: the send transaction as plain SQL in pgbench, and Redis with redis-benchmark."""

import glob
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench.common import REPO, log

# What messaging.services.message_send does, minus Django: pick a (chat, member) pair as the load does,
# lock the chat row if the user is a member, bump its seq, insert, move the sender's read marker.
SEND_SQL = r"""
\set i random(0, :npairs - 1)
SELECT chat_id AS chat, user_id AS uid FROM bench_pairs WHERE i = :i \gset
BEGIN;
SELECT c.id FROM chats_chat c JOIN chats_chatmember m ON m.chat_id = c.id
  WHERE c.id = :chat AND m.user_id = :uid FOR UPDATE OF c;
UPDATE chats_chat SET last_seq = last_seq + 1, last_message_at = now() WHERE id = :chat RETURNING last_seq AS seq \gset
INSERT INTO messaging_message (chat_id, sender_id, seq, content, created_at{extra_cols})
  VALUES (:chat, :uid, :seq, 'pgbench send', now(){extra_vals});
UPDATE chats_chatmember SET last_read_seq = :seq
  WHERE chat_id = :chat AND user_id = :uid AND last_read_seq < :seq;
END;
"""


def find_tool(name: str) -> str:
    """The tool on PATH, else under /usr/lib/postgresql/*/bin (Debian puts pgbench there)."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    raise FileNotFoundError(f"{name} not found on PATH or under /usr/lib/postgresql/*/bin")


def pgbench_send(database_url: str, clients: int, seconds: int, npairs: int) -> dict[str, Any]:
    """Transactions per second and latency of SEND_SQL at `clients` connections."""
    parsed = urlparse(database_url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        from bench.seed import message_extra_sql

        f.write(
            SEND_SQL.replace("{extra_cols}", "{0[extra_cols]}")
            .replace("{extra_vals}", "{0[extra_vals]}")
            .format(message_extra_sql(database_url))
        )
        script = f.name
    cmd = [
        find_tool("pgbench"),
        "-h", parsed.hostname or "127.0.0.1",
        "-p", str(parsed.port or 5432),
        "-U", parsed.username or "postgres",
        "-n", "-M", "prepared",
        "-c", str(clients), "-j", str(min(clients, 2)),
        "-T", str(seconds),
        "-D", f"npairs={npairs}",
        "-f", script,
        parsed.path.lstrip("/"),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    Path(script).unlink()
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    log(f"pgbench send c={clients}: {tps:.0f} tps")
    return {
        "clients": clients,
        "tps": round(tps, 1),
        "latency_avg_ms": float(lat.group(1)) if lat else None,
        "failed": int(failed.group(1)) if failed else 0,
        "command": " ".join([*cmd[:-3], "-f", "send.sql (bench/limits.py SEND_SQL)", cmd[-1]]),
    }


def redis_publish(redis_url: str, clients: int, requests: int, payload_bytes: int = 400) -> dict[str, Any]:
    """PUBLISH rate (what group_send does per send on the pub/sub layer), no subscriber."""
    parsed = urlparse(redis_url)
    cmd = [
        find_tool("redis-benchmark"),
        "-h", parsed.hostname or "127.0.0.1",
        "-p", str(parsed.port or 6379),
        "-c", str(clients), "-n", str(requests), "-q",
        "PUBLISH", "bench.publish", "x" * payload_bytes,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.findall(r"([\d.]+) requests per second", out)[-1])
    log(f"redis-benchmark PUBLISH c={clients}: {rps:.0f}/s")
    return {"clients": clients, "rps": rps, "command": " ".join(cmd[:-1]) + f" <{payload_bytes} bytes>"}


def channel_layer_fanout(redis_url: str, messages: int) -> dict[str, Any]:
    """The pub/sub channel layer alone (bench/channel_layers.py): 10 groups x 10 members, full speed."""
    cmd = [
        sys.executable,
        "bench/channel_layers.py",
        "--groups",
        "10",
        "--members",
        "10",
        "--messages",
        str(messages),
    ]
    env = {"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=300
    ).stdout
    report = json.loads(out.split("\n\n|")[0])
    pubsub = report["results"]["pubsub"]
    log(f"channel layer pubsub: {pubsub['sends_per_s']} sends/s, {pubsub['deliveries_per_s']} deliveries/s")
    return {"command": " ".join(cmd[1:]), **report["results"]}
