"""client.js's outbox under Node against a real Daphne: a burst of 300 sends is stored exactly once each,
through rate-limit refusals and a dropped socket (issue 20, item 4)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from chats import services as chat_services
from messaging.models import Message
from realtime.tests.live import ROOT, daphne_server
from tests.test_readme_walkthrough import node_env

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = ROOT / "web" / "static" / "chat" / "client.js"
BURST = 300

SCRIPT = """
import { ChatApiError, ChatClient } from %(client)s;

const [baseUrl, password, chatId, maxInFlight, burst] = process.argv.slice(2);
const alice = new ChatClient({ baseUrl, storage: null, maxInFlight: Number(maxInFlight) });
await alice.login({ email: "alice@example.com", password });
await alice.listChats();
const refusals = [];
let opened = 0;
alice.addEventListener("status", (event) => { if (event.detail.state === "open") opened++; });
// Every error frame, also those the outbox answers by itself (they are no `error` event).
const onFrame = alice._onFrame.bind(alice);
alice._onFrame = (frame) => {
  if (frame.type === "error") refusals.push(frame.payload.code);
  return onFrame(frame);
};
const resumed = new Promise((resolve) => alice.addEventListener("resumed", resolve, { once: true }));
await alice.connect();
await resumed;

let answered = 0;
const sends = [];
for (let n = 0; n < Number(burst); n++) {
  const send = alice.queueMessage({ chatId: Number(chatId), content: `burst ${n}` });
  // A third of the way in, the socket drops as a network failure would: what it left unanswered goes
  // again on the next socket, with the same client_id.
  send.then(() => { if (++answered === Math.floor(Number(burst) / 3)) alice.socket?.close(4000); });
  sends.push(send);
}
const stored = await Promise.all(sends);
const burstRefusals = refusals.slice();
// A refusal that sending again cannot fix rejects the send, and leaves the outbox.
const notMember = await alice.queueMessage({ chatId: 2 ** 40, content: "nowhere" }).catch((error) => ({
  isApiError: error instanceof ChatApiError, status: error.status, code: error.code,
}));
await alice.logout(); // closes the socket and stops the token timers, so node can exit
console.log(JSON.stringify({
  ids: stored.map((m) => m.id),
  contents: stored.map((m) => m.content),
  opened,
  refusals: burstRefusals,
  notMember,
  left: alice.outbox.size,
}));
"""


def run_burst(tmp_path: Path, max_in_flight: int) -> dict:
    """Log alice in with client.js, queue BURST sends at once, drop the socket once; what node saw."""
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node is needed to run client.js (Debian's nodejs)")
        pytest.skip("node is not installed")
    alice, bob = UserFactory(username="alice", email="alice@example.com"), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    script = tmp_path / "burst.mjs"
    script.write_text(SCRIPT % {"client": json.dumps(CLIENT.as_uri())})
    with daphne_server(settings.REDIS_URL, {"LOG_LEVEL": "WARNING"}) as server:
        result = subprocess.run(
            [
                "node",
                str(script),
                server.base,
                DEFAULT_PASSWORD,
                str(chat.pk),
                str(max_in_flight),
                str(BURST),
            ],
            env={**os.environ, **node_env()},
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    rows = list(Message.objects.filter(chat=chat).values_list("id", "content", "client_id"))
    # Exactly BURST messages, each content once, each promise resolved with its own stored row.
    assert sorted(content for _, content, _ in rows) == sorted(f"burst {n}" for n in range(BURST))
    assert len({client_id for _, _, client_id in rows}) == BURST
    assert sorted(seen["ids"]) == sorted(row_id for row_id, _, _ in rows)
    assert seen["contents"] == [f"burst {n}" for n in range(BURST)]
    assert seen["notMember"] == {"isApiError": True, "status": 0, "code": "not_chat_member"}
    assert seen["left"] == 0
    assert seen["opened"] >= 2  # the dropped socket was replaced
    return seen


def test_a_burst_of_300_sends_from_client_js_is_stored_exactly_once_each(tmp_path: Path) -> None:
    """The default outbox: one send on the wire at a time, in order."""
    seen = run_burst(tmp_path, max_in_flight=1)

    assert set(seen["refusals"]) <= {"rate_limited"}


def test_a_burst_of_300_on_the_wire_at_once_is_stored_exactly_once_each(tmp_path: Path) -> None:
    """All 300 frames at once: over the socket's frame and send rates, each refused one is answered,
    and the outbox sends it again after `retry_after`."""
    seen = run_burst(tmp_path, max_in_flight=BURST)

    assert "rate_limited" in seen["refusals"]
    assert set(seen["refusals"]) == {"rate_limited"}
