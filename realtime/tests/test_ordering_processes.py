"""Exactly once and in order under concurrent senders, on one and on two real Daphne processes.

Senders start at the same instant (that is when broadcasts cross), every member has a socket, some
never send, and each socket's new_message frames are counted per chat.
"""

import asyncio
import json
import random
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging.services import message_send
from realtime.tests.live import daphne, ws_url
from realtime.tests.wsclient import access_token
from tests.test_metrics import scraped

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Client:
    """One member's socket: what it received per chat, and its own answers by client_id."""

    ws: ClientConnection
    chat_ids: set[int]
    received: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    answered: dict[str, asyncio.Event] = field(default_factory=dict)
    frames: list[dict] = field(default_factory=list)

    async def read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            self.frames.append(frame)
            if frame["type"] == "new_message":
                payload = frame["payload"]
                self.received[payload["chat_id"]].append(payload["seq"])
                event = self.answered.get(payload.get("client_id") or "")
                if event is not None:
                    event.set()
            elif frame["type"] == "error":
                raise AssertionError(f"error frame: {frame}")

    async def send(self, chat_id: int, client_id: str) -> None:
        """Send one message and wait for this socket's answer to it (a closed loop)."""
        event = self.answered[client_id] = asyncio.Event()
        payload = {"chat_id": chat_id, "content": client_id, "client_id": client_id}
        await self.ws.send(json.dumps({"type": "send_message", "payload": payload}))
        await asyncio.wait_for(event.wait(), 20)


async def until(condition: Callable[[], bool], timeout: float) -> None:
    """Poll `condition` (frames arrive on reader tasks) until it holds or `timeout` passes."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)


def make_groups(groups: int, members: int) -> list[tuple[int, list[str]]]:
    """`groups` group chats of `members` users each: [(chat id, [each member's access token])]."""
    result = []
    for _ in range(groups):
        users = [UserFactory() for _ in range(members)]
        chat = chat_services.chat_create_group(
            creator=users[0], name="room", participant_ids=[u.pk for u in users[1:]]
        )
        result.append((chat.pk, [access_token(u) for u in users]))
    return result


async def run_fan_out(
    bases: list[str], groups: list[tuple[int, list]], senders: int, per_sender: int
) -> None:
    """Every member connects (round-robin over the processes); `senders` per chat send at once."""
    async with AsyncExitStack() as stack:
        clients: list[tuple[Client, int, bool]] = []
        index = 0
        for chat_id, tokens in groups:
            for position, token in enumerate(tokens):
                base = bases[index % len(bases)]
                index += 1
                headers = {"Authorization": f"Bearer {token}"}
                ws = await stack.enter_async_context(connect(ws_url(base), additional_headers=headers))
                clients.append((Client(ws, {chat_id}), chat_id, position < senders))
        readers = [asyncio.create_task(client.read()) for client, _, _ in clients]
        start = asyncio.Event()

        async def sender(client: Client, chat_id: int, name: str) -> None:
            await start.wait()
            for i in range(per_sender):
                await client.send(chat_id, f"{name}-{i}")

        tasks = [
            asyncio.create_task(sender(client, chat_id, f"s{n}"))
            for n, (client, chat_id, sends) in enumerate(clients)
            if sends
        ]
        start.set()  # every sender's first send leaves together
        await asyncio.gather(*tasks)
        expected = list(range(1, senders * per_sender + 1))
        await until(lambda: all(len(c.received[chat_id]) >= len(expected) for c, chat_id, _ in clients), 20)
        await asyncio.sleep(0.3)  # anything extra (a duplicate) would arrive by now
        for reader in readers:
            reader.cancel()
    failures = [
        (chat_id, client.received[chat_id])
        for client, chat_id, _ in clients
        if client.received[chat_id] != expected
    ]
    assert not failures, (
        f"{len(failures)} sockets did not get 1..{len(expected)} once in order: {failures[:3]}"
    )


def fanned_out(base: str) -> float:
    """How many frames the process's local fan-out wrote (realtime.layer.fanout), from its /metrics."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return scraped(response.read()).get("chat_websocket_frames_fanned_out_total{}", 0.0)


@pytest.mark.parametrize("processes", [1, 2])
def test_concurrent_senders_every_socket_gets_every_message_once_in_order(processes):
    groups = make_groups(groups=4, members=6)
    with ExitStack() as stack:
        bases = [stack.enter_context(daphne(settings.REDIS_URL)) for _ in range(processes)]
        asyncio.run(run_fan_out(bases, groups, senders=4, per_sender=8))
        # The checks above held with most frames written by the local fan-out, not around it.
        assert all(fanned_out(base) > 0 for base in bases)


def test_big_room_concurrent_senders_over_two_processes():
    groups = make_groups(groups=1, members=24)
    with ExitStack() as stack:
        bases = [stack.enter_context(daphne(settings.REDIS_URL)) for _ in range(2)]
        asyncio.run(run_fan_out(bases, groups, senders=8, per_sender=6))
        assert all(fanned_out(base) > 0 for base in bases)


def test_resume_late_while_the_chat_is_busy_is_exactly_once():
    """A resume 0.8 s after opening, with live messages already flowing, sends each seq once."""
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    for i in range(5):
        message_send(chat_id=chat.pk, sender=alice, content=f"before {i}")
    token_a, token_b = access_token(alice), access_token(bob)

    async def scenario(base: str) -> tuple[list[int], list[dict]]:
        headers_a = {"Authorization": f"Bearer {token_a}"}
        headers_b = {"Authorization": f"Bearer {token_b}"}
        async with (
            connect(ws_url(base), additional_headers=headers_a) as ws_a,
            connect(ws_url(base), additional_headers=headers_b) as ws_b,
        ):
            sender, bob_client = Client(ws_a, {chat.pk}), Client(ws_b, {chat.pk})
            readers = [asyncio.create_task(sender.read()), asyncio.create_task(bob_client.read())]

            async def busy() -> None:
                for i in range(40):
                    await sender.send(chat.pk, f"live-{i}")
                    await asyncio.sleep(random.uniform(0.01, 0.04))

            sending = asyncio.create_task(busy())
            await asyncio.sleep(0.8)
            # Bob's client knew messages up to seq 2 before this socket opened.
            await ws_b.send(json.dumps({"type": "resume", "payload": {"chats": {str(chat.pk): 2}}}))
            await sending
            await until(lambda: len(bob_client.received[chat.pk]) >= 43, 10)
            await asyncio.sleep(0.3)
            for reader in readers:
                reader.cancel()
            return bob_client.received[chat.pk], bob_client.frames

    with daphne(settings.REDIS_URL) as base:
        seqs, frames = asyncio.run(scenario(base))
    assert sorted(seqs) == list(range(3, 46)), seqs
    assert len(seqs) == len(set(seqs)), f"duplicates: {seqs}"
    at_resume = next(i for i, f in enumerate(frames) if f["type"] == "resumed")
    before = [f["payload"]["seq"] for f in frames[:at_resume] if f["type"] == "new_message"]
    after = [f["payload"]["seq"] for f in frames[at_resume:] if f["type"] == "new_message"]
    live_before = [seq for seq in before if seq > 5]
    assert live_before == sorted(live_before)
    # What the resume filled in came in order, and live delivery went on in order after it.
    filled = [seq for seq in before if seq <= 5]
    assert filled == [3, 4, 5]
    assert after == sorted(after)
