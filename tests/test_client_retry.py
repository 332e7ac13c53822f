"""client.js's reconnect wait under Node: a `server_busy` answer's retry_after is the wait, and only
failures that name no time grow the backoff (a growing backoff on top left a process idle in a storm)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from realtime.tests.live import ROOT
from tests.test_readme_walkthrough import node_env

CLIENT = ROOT / "web" / "static" / "chat" / "client.js"

SCRIPT = """
import { ChatClient } from %(client)s;

const client = new ChatClient({ baseUrl: "http://127.0.0.1:9", storage: null });
const waits = [];
client.addEventListener("status", (event) => waits.push([event.detail.retryInMs, client._attempt]));
client._wanted = true;
client.connect = () => {}; // no network: only the wait before the next connect is looked at

// A storm: shed three times, each answer naming its slot.
for (const retryAfter of [2.5, 4, 0.75]) {
  client._onFrame({ type: "error", payload: { code: "server_busy", message: "busy", retry_after: retryAfter } });
  client._retry();
}
// Then two closes that name no time: the backoff, growing.
client._retry();
client._retry();
client.disconnect();
console.log(JSON.stringify(waits));
"""


def test_server_busy_waits_its_retry_after_and_does_not_grow_the_backoff(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node is needed to run client.js (Debian's nodejs)")
        pytest.skip("node is not installed")
    script = tmp_path / "retry.mjs"
    script.write_text(SCRIPT % {"client": json.dumps(CLIENT.as_uri())})

    result = subprocess.run(
        ["node", str(script)], env={**os.environ, **node_env()}, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    waits = json.loads(result.stdout.strip().splitlines()[-1])
    assert waits[:3] == [[2500, 0], [4000, 0], [750, 0]]
    (first_backoff, attempt_after_first), (second_backoff, attempt_after_second) = waits[3:5]
    assert (attempt_after_first, attempt_after_second) == (1, 2)
    assert 250 <= first_backoff <= 500  # attempt 0: half fixed, half random, of 500 ms
    assert 500 <= second_backoff <= 1000
