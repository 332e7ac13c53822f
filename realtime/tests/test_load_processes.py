"""Under load the real-time path degrades, never collapses (issue 19), on real Daphne processes.

- Concurrent closed-loop senders in a room of 200: every socket gets every seq once and in order, and
  the local fan-out writes at least 90 % of the new_message frames (read from the process's /metrics).
- A storm of 500 handshakes at once against one process with a short handshake guard: every handshake
  is answered (an open socket, or accepted and closed with a code; at most 1 % of connections end
  before an HTTP answer, see the test), and with clients that retry as client.js does (backoff with
  jitter, `retry_after` of a `server_busy` answer) at least 99 % are open.
"""

import asyncio
import json
import random
import urllib.request
from collections import defaultdict

import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus

from accounts.models import User
from chats.models import Chat, ChatMember
from realtime.tests.live import daphne, ws_url
from realtime.tests.wsclient import access_token
from tests.test_metrics import scraped

pytestmark = pytest.mark.django_db(transaction=True)


def room(members: int) -> tuple[int, list[str]]:
    """A group of `members` users (bulk-made: no password hashing), with each member's access token."""
    users = User.objects.bulk_create(
        [
            User(email=f"load{i}-{random.random()}@example.com", username=f"load{i}", password="!")
            for i in range(members)
        ]
    )
    chat = Chat.objects.create(type=Chat.Type.GROUP, name="room", created_by=users[0])
    ChatMember.objects.bulk_create(
        [ChatMember(chat=chat, user=users[0], role=ChatMember.Role.OWNER)]
        + [ChatMember(chat=chat, user=u) for u in users[1:]]
    )
    return chat.pk, [access_token(u) for u in users]


def metrics_of(base: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return scraped(response.read())


async def open_all(base: str, tokens: list[str], at_once: int = 20) -> list[ClientConnection]:
    limit = asyncio.Semaphore(at_once)

    async def one(token: str) -> ClientConnection:
        async with limit:
            return await connect(ws_url(base), additional_headers={"Authorization": f"Bearer {token}"})

    return list(await asyncio.gather(*(one(t) for t in tokens)))


def test_concurrent_senders_in_a_room_of_200_get_every_seq_once_in_order_mostly_on_the_fast_path():
    chat_id, tokens = room(200)
    senders, per_sender = 20, 5
    total = senders * per_sender

    async def scenario(base: str) -> dict[int, list[int]]:
        sockets = await open_all(base, tokens)
        received: dict[int, list[int]] = defaultdict(list)
        answered: dict[str, asyncio.Event] = {}

        async def read(index: int, ws: ClientConnection) -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "new_message":
                    received[index].append(frame["payload"]["seq"])
                    event = answered.get(frame["payload"].get("client_id") or "")
                    if event is not None:
                        event.set()
                elif frame["type"] == "error":
                    raise AssertionError(frame)

        readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
        start = asyncio.Event()

        async def send(index: int) -> None:
            await start.wait()
            for n in range(per_sender):
                client_id = f"s{index}-{n}"
                answered[client_id] = asyncio.Event()
                payload = {"chat_id": chat_id, "content": client_id, "client_id": client_id}
                await sockets[index].send(json.dumps({"type": "send_message", "payload": payload}))
                await asyncio.wait_for(answered[client_id].wait(), 30)  # closed loop: one in flight

        tasks = [asyncio.create_task(send(i)) for i in range(senders)]
        await asyncio.sleep(0.6)  # past the first-frame hold of the sockets that never send
        start.set()
        await asyncio.gather(*tasks)
        for _ in range(200):
            if all(len(received[i]) >= total for i in range(len(sockets))):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a duplicate would arrive by now
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        return received

    with daphne(settings.REDIS_URL) as base:
        before = metrics_of(base)
        received = asyncio.run(scenario(base))
        after = metrics_of(base)

    wrong = {i: seqs for i, seqs in received.items() if seqs != list(range(1, total + 1))}
    assert len(received) == 200
    assert not wrong, (
        f"{len(wrong)} sockets did not get 1..{total} once in order, e.g. {list(wrong.items())[:2]}"
    )
    sent_key = "chat_websocket_frames_sent_total{type=new_message}"
    fanned_key = "chat_websocket_frames_fanned_out_total{}"
    sent = after.get(sent_key, 0) - before.get(sent_key, 0)
    fanned = after.get(fanned_key, 0) - before.get(fanned_key, 0)
    assert sent >= 200 * total
    assert fanned / sent >= 0.9, f"fast path share {fanned / sent:.3f}"


def test_a_storm_of_500_handshakes_is_answered_every_time_and_all_open_after_retries():
    # 25 users x 20 sockets (the per-user cap), all at once, against a short guard and a small admission.
    users = [room(1) for _ in range(25)]
    tokens = [token for _, user_tokens in users for token in user_tokens for _ in range(20)]
    env = {"WS_HANDSHAKE_TIMEOUT_SECONDS": "1.0", "WS_MAX_HANDSHAKES_IN_PROGRESS": "16"}

    async def storm(base: str) -> tuple[int, int, list[str], int]:
        unanswered: list[str] = []
        shed = resets = 0
        opened: list[ClientConnection] = []

        async def one(token: str) -> None:
            nonlocal shed, resets
            # As client.js: a shed handshake comes back as often as it is shed (the server names when);
            # 12 failures that name no time, or a minute, and it gives up.
            failures, deadline = 0, asyncio.get_running_loop().time() + 60
            while failures < 12 and asyncio.get_running_loop().time() < deadline:
                try:
                    ws = await connect(
                        ws_url(base), additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10
                    )
                except InvalidStatus as exc:  # an HTTP answer that is not an upgrade
                    unanswered.append(f"HTTP {exc.response.status_code}")
                    return
                except InvalidMessage:
                    # The connection ended before an HTTP answer. Seen rarely in the first second of a
                    # storm with 500 clients and the server on the same 2 cores; client.js retries
                    # it like any failed connect. Counted, and bounded below.
                    resets += 1
                    failures += 1
                    await asyncio.sleep(0.5 + random.random())
                    continue
                except (OSError, TimeoutError) as exc:
                    unanswered.append(repr(exc))
                    return
                try:
                    # Open, and still open a moment later (not accepted only to be closed).
                    raw = await asyncio.wait_for(ws.recv(), 0.3)
                    frame = json.loads(raw)
                    assert frame["type"] == "error", frame
                    assert frame["payload"]["code"] == "server_busy", frame
                    retry_after = frame["payload"]["retry_after"]
                    shed += 1
                    await ws.wait_closed()
                    assert ws.close_code == 1013
                except TimeoutError:
                    opened.append(ws)
                    return
                except ConnectionClosed:
                    assert ws.close_code == 1013, ws.close_code  # the short guard: try again later
                    retry_after = 0.0
                # As client.js: a server_busy answer's retry_after, else a backoff with jitter.
                ceiling = min(5.0, 0.5 * 2**failures)
                await asyncio.sleep(retry_after or ceiling / 2 + random.random() * ceiling / 2)
                failures += not retry_after
            unanswered.append("gave up")

        await asyncio.gather(*(one(t) for t in tokens))
        count = len(opened)
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
        return count, shed, unanswered, len(tokens), resets

    with daphne(settings.REDIS_URL, env) as base:
        opened, shed, unanswered, total, resets = asyncio.run(storm(base))
        shed_metric = metrics_of(base).get("chat_websocket_handshakes_shed_total{}", 0)

    assert not unanswered, f"{len(unanswered)} handshakes got no answer: {unanswered[:5]}"
    assert resets <= 0.01 * total, f"{resets} connections ended before an HTTP answer"
    assert opened >= 0.99 * total, f"{opened} of {total} open"
    assert shed > 0  # admission control did shed part of the storm
    assert shed_metric >= shed
