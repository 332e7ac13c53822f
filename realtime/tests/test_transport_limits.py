"""WebSocket limits Daphne enforces (chatproject.server), on real Daphne processes.

A client that never reads must not make Daphne hold its output without bound; a reading client under
the same load must not be closed; a frame over WS_MAX_FRAME_BYTES gets a 1009 close frame.
"""

import asyncio
import base64
import json
import os
import socket
import struct
import time
from pathlib import Path

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from chats.models import Chat
from messaging.models import Message
from realtime.tests.live import daphne_server, http, receive_frame, ws_url
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
MAKE_RUN_ARGS = ["--websocket-max-message-size", "65536"]
STORED = 1000  # WS_REPLAY_LIMIT: one resume from 0 replays all of them
LIVE = 100
TEXT = "m" * 4000  # MESSAGE_MAX_LENGTH: ~4 KiB per frame, ~4 MiB per replay
# Small enough that the replay and live messages pass it even after the kernel's socket buffers
# took their share; the same for the reading client, which must ride it out.
LIMITS = {"WS_MAX_BUFFERED_BYTES": str(512 * 1024)}
TCP_ESTABLISHED = 1


def rss_kib(pid: int) -> int:
    """The process's resident memory (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def busy_chat() -> tuple[Chat, object, object]:
    """A private chat holding STORED messages of 4000 characters from bob."""
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    Message.objects.bulk_create(
        Message(chat=chat, sender=bob, seq=seq, version=seq, content=TEXT) for seq in range(1, STORED + 1)
    )
    Chat.objects.filter(pk=chat.pk).update(last_seq=STORED, last_version=STORED)
    return chat, alice, bob


def send_live(base: str, chat_id: int, token: str, count: int) -> None:
    """`count` messages over REST, each delivered live to the chat's sockets."""
    for _ in range(count):
        status, _ = http("POST", f"{base}/api/messages/send", {"chat_id": chat_id, "content": TEXT}, token)
        assert status == 200


def masked_text_frame(text: str) -> bytes:
    """One client-to-server text frame (clients must mask)."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack("!H", size)
    return b"\x81" + length + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))


def open_non_reader(base: str, token: str) -> socket.socket:
    """A WebSocket opened by hand whose client never reads after the handshake."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    # A small receive window, set before connecting: the client's kernel takes little on its behalf.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /api/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    answer = b""
    while not answer.endswith(b"\r\n\r\n"):  # byte by byte: read nothing past the handshake
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of the socket (tcp_info.tcpi_state)."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


@pytest.mark.parametrize("trickle", [0, 16], ids=["never_reads", "reads_16_bytes_now_and_then"])
def test_socket_whose_client_does_not_keep_up_is_aborted_and_daphne_memory_stays_bounded(trickle):
    chat, alice, bob = busy_chat()
    resume = masked_text_frame(json.dumps({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}}))

    # Daphne's keepalive would drop a peer that misses pings after 50 s; this must not be what closes it.
    args = [*MAKE_RUN_ARGS, "--ping-interval", "600", "--ping-timeout", "600"]
    with daphne_server(settings.REDIS_URL, env=LIMITS, args=args) as server:
        before = rss_kib(server.process.pid)
        sock = open_non_reader(server.base, access_token(alice))
        try:
            sock.sendall(resume)
            send_live(server.base, chat.pk, access_token(bob), LIVE)
            try:
                # More resumes: until the socket is closed they are refused or wait in kernel buffers.
                for _ in range(20):
                    sock.sendall(resume)
            except OSError:
                pass  # already aborted
            deadline = time.monotonic() + 60
            while tcp_state(sock) == TCP_ESTABLISHED and time.monotonic() < deadline:
                if trickle:  # a byte now and then must not keep the server holding its output
                    try:
                        sock.recv(trickle)
                    except TimeoutError:
                        pass
                    except OSError:
                        break  # reset: the server aborted it
                time.sleep(0.2)
            state = tcp_state(sock)
        finally:
            sock.close()
        growth_mib = (rss_kib(server.process.pid) - before) / 1024
        health, _ = http("GET", f"{server.base}/healthz")

    assert state != TCP_ESTABLISHED, "the server never closed a socket whose client does not read"
    assert growth_mib < 100
    assert health == 200


def test_reading_client_under_the_same_load_gets_everything_and_stays_open():
    chat, alice, bob = busy_chat()
    token_a, token_b = access_token(alice), access_token(bob)

    async def scenario(base: str) -> tuple[set[int], dict]:
        headers = {"Authorization": f"Bearer {token_a}"}
        async with connect(ws_url(base), additional_headers=headers, max_size=None) as ws:
            await ws.send(json.dumps({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}}))
            live = asyncio.create_task(asyncio.to_thread(send_live, base, chat.pk, token_b, LIVE))
            seqs: set[int] = set()
            while len(seqs) < STORED + LIVE:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["type"] == "new_message":
                    seqs.add(frame["payload"]["seq"])
            await live
            # Still open: its own message comes back.
            await ws.send(
                json.dumps({"type": "send_message", "payload": {"chat_id": chat.pk, "content": "here"}})
            )
            while (echo := await receive_frame(ws, "new_message"))["payload"]["content"] != "here":
                pass
            return seqs, echo

    with daphne_server(settings.REDIS_URL, env=LIMITS, args=MAKE_RUN_ARGS) as server:
        seqs, echo = asyncio.run(scenario(server.base))

    assert seqs == set(range(1, STORED + LIVE + 1))
    assert echo["payload"]["seq"] == STORED + LIVE + 1


@pytest.mark.parametrize(
    ("args", "size"),
    [
        (MAKE_RUN_ARGS, 64 * 1024 + 1),  # as `make run` starts Daphne
        ([], 2 * MIB),  # Daphne's own default limit is 1 MiB: WS_MAX_FRAME_BYTES still holds
    ],
)
def test_frame_over_the_limit_is_closed_with_1009(args, size):
    token = access_token(UserFactory())

    async def scenario(base: str) -> int | None:
        headers = {"Authorization": f"Bearer {token}"}
        async with connect(ws_url(base), additional_headers=headers, max_size=None) as ws:
            await ws.send("x" * size)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    with daphne_server(settings.REDIS_URL, args=args) as server:
        code = asyncio.run(scenario(server.base))

    assert code == 1009
