"""The local fan-out (realtime.layer.pubsub, realtime.layer.fanout, chatproject.server.wire) through the real routing stack.

The sockets here get a `chat.wire` scope extension as Daphne's do (chatproject.server.wire.offer_wire), one that
decodes each prepared frame and puts it on the communicator's output, where the consumer's ordinary
sends go too: the test reads one stream, in the order a client would. Real Daphne processes run the
same checks in test_ordering_processes.py.
"""

import asyncio
import struct
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from prometheus_client import REGISTRY

from accounts.tests.factories import UserFactory
from chatproject.server.wire import SCOPE_EXTENSION, prepare
from chats import services as chat_services
from messaging.payloads import message_payload
from messaging.services import message_edit, message_send
from realtime.broadcast import layer_message
from realtime.groups import chat_group
from realtime.layer.pubsub import DecodeOncePubSubChannelLayer
from realtime.protocol.event_types import ServerEvent
from realtime.routing import websocket_application
from realtime.tests import wsclient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async


def unframe(frame: bytes) -> str:
    """The text of one unmasked, unfragmented server frame."""
    assert frame[0] == 0x81, "a final text frame"
    length, offset = frame[1] & 0x7F, 2
    assert not frame[1] & 0x80, "server frames are not masked"
    if length == 126:
        (length,), offset = struct.unpack("!H", frame[2:4]), 4
    elif length == 127:
        (length,), offset = struct.unpack("!Q", frame[2:10]), 10
    assert len(frame) == offset + length
    return frame[offset:].decode()


class QueueWire:
    """A `chat.wire` writing to the communicator's output, as Daphne's writes to the socket."""

    def __init__(self) -> None:
        self.output: asyncio.Queue[dict[str, Any]] | None = None
        self.accepting = True
        self.broken = False  # raises, as a bug in the fan-out would
        self.written: list[str] = []

    def client_frames_read(self) -> bool:
        return False  # client frames go through the communicator, past this wire

    def write(self, frame: bytes) -> bool:
        if self.broken:
            raise RuntimeError("wire broke")
        if not self.accepting or self.output is None:
            return False
        text = unframe(frame)
        self.written.append(text)
        self.output.put_nowait({"type": "websocket.send", "text": text})
        return True


async def open_with_wire(user: Any, *, first_frame: bool = True) -> tuple[wsclient.Socket, QueueWire]:
    """A socket whose scope offers `wire`; with `first_frame`, an empty resume ends the hold on live messages."""
    wire = QueueWire()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope = {**scope, "extensions": {**scope.get("extensions", {}), SCOPE_EXTENSION: wire}}
        await websocket_application(scope, receive, send)

    token = await db(wsclient.access_token)(user)
    communicator = wsclient.WebsocketCommunicator(
        app, "/api/ws", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    wire.output = communicator.output_queue
    accepted, _ = await communicator.connect(timeout=5)
    assert accepted
    socket = wsclient.Socket(communicator)
    if first_frame:
        await socket.send({"type": "resume", "payload": {"chats": {}}})
        assert (await socket.recv())["type"] == "resumed"
    return socket, wire


@pytest.fixture(autouse=True)
def pubsub_layer() -> None:
    if not isinstance(get_channel_layer(), DecodeOncePubSubChannelLayer):
        pytest.fail("the local fan-out needs the pub/sub layer (REDIS_URL, CHANNEL_LAYER=pubsub)")


@db
def room(members: int) -> tuple[Any, list[Any]]:
    users = [UserFactory() for _ in range(members)]
    chat = chat_services.chat_create_group(
        creator=users[0], name="room", participant_ids=[u.pk for u in users[1:]]
    )
    return chat, users


send = db(lambda chat, user, content: message_send(chat_id=chat.pk, sender=user, content=content))


async def settle(sockets: list[tuple[wsclient.Socket, QueueWire]]) -> None:
    """Wait until every socket has handled what its opening brought (the others' presence frames): the
    local fan-out takes a message only from a socket whose queue is empty, and the test is about it."""
    for socket, _ in sockets:
        assert await socket.nothing(0.2)


async def new_message_seqs(socket: wsclient.Socket, count: int) -> list[int]:
    frames = [await socket.recv() for _ in range(count)]
    assert all(f["type"] == "new_message" for f in frames), frames
    return [f["payload"]["seq"] for f in frames]


async def test_new_messages_go_through_the_wire_once_in_order():
    chat, users = await room(4)
    sockets = [await open_with_wire(user) for user in users[1:]]
    await settle(sockets)
    # Concurrent senders from several threads: broadcasts may reach the layer out of order.
    await asyncio.gather(*(send(chat, users[i % 4], f"m{i}") for i in range(24)))
    for socket, wire in sockets:
        assert await new_message_seqs(socket, 24) == list(range(1, 25))
        assert await socket.nothing()
        assert wire.written, "the local fan-out wrote nothing"
        await socket.close()


async def test_a_frame_written_by_the_wire_is_the_frame_the_consumer_would_send():
    chat, users = await room(2)
    (fast, wire), slow = await open_with_wire(users[1]), await wsclient.open_socket(users[1])
    await slow[0].send({"type": "resume", "payload": {"chats": {}}})
    assert (await slow[0].recv())["type"] == "resumed"
    await settle([(fast, wire), (slow[0], wire)])
    await send(chat, users[0], "same bytes é 😀")
    written = await fast.communicator.output_queue.get()
    ordinary = await slow[0].communicator.receive_output(timeout=3)
    assert written["text"] == ordinary["text"]
    assert wire.written == [written["text"]]
    await fast.close()
    await slow[0].close()


async def test_a_refusing_wire_falls_back_to_the_ordinary_send():
    chat, users = await room(2)
    socket, wire = await open_with_wire(users[1])
    await settle([(socket, wire)])
    wire.accepting = False
    for i in range(5):
        await send(chat, users[0], f"m{i}")
    assert await new_message_seqs(socket, 5) == [1, 2, 3, 4, 5]
    wire.accepting = True
    await send(chat, users[0], "m5")
    assert await new_message_seqs(socket, 1) == [6]
    assert len(wire.written) == 1
    await socket.close()


async def test_messages_during_the_hold_wait_for_the_resume_and_come_after_it(chat_overrides):
    chat_overrides.WS_RESUME_WAIT_SECONDS = 30
    chat, users = await room(2)
    await send(chat, users[0], "known")
    socket, wire = await open_with_wire(users[1], first_frame=False)
    for i in range(3):
        await send(chat, users[0], f"live {i}")
    assert await socket.nothing(0.5)  # their broadcasts arrive meanwhile, and wait in the hold
    await socket.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})
    frames = [await socket.recv() for _ in range(5)]
    assert sorted(f["type"] for f in frames) == ["new_message"] * 4 + ["resumed"]
    seqs = [f["payload"]["seq"] for f in frames if f["type"] == "new_message"]
    assert seqs == [1, 2, 3, 4]
    assert wire.written == [], "held messages go through the delivery's queue, not the wire"
    await send(chat, users[0], "after")
    assert await new_message_seqs(socket, 1) == [5]
    assert len(wire.written) == 1
    await socket.close()


async def test_a_removed_member_gets_nothing_more_through_the_wire():
    chat, users = await room(3)
    socket, wire = await open_with_wire(users[2])
    await settle([(socket, wire)])
    await send(chat, users[0], "before")
    assert await new_message_seqs(socket, 1) == [1]
    await db(chat_services.member_remove)(chat_id=chat.pk, actor=users[0], user_id=users[2].pk)
    assert (await socket.recv())["type"] == "member_removed"
    await send(chat, users[0], "after")
    await send(chat, users[1], "after too")
    assert await socket.nothing(0.5)
    assert len(wire.written) == 1
    await socket.close()


async def test_changes_keep_their_place_between_new_messages():
    chat, users = await room(2)
    socket, _ = await open_with_wire(users[1])
    first = await send(chat, users[0], "one")
    await db(message_edit)(message_id=first.pk, editor=users[0], content="one, edited")
    await send(chat, users[0], "two")
    frames = [await socket.recv() for _ in range(3)]
    assert [f["type"] for f in frames] == ["new_message", "message_updated", "new_message"]
    await socket.close()


async def test_what_the_wire_writes_is_counted_once_per_socket():
    chat, users = await room(4)
    before_fanned = REGISTRY.get_sample_value("chat_websocket_frames_fanned_out_total") or 0.0
    before_sent = (
        REGISTRY.get_sample_value("chat_websocket_frames_sent_total", {"type": "new_message"}) or 0.0
    )
    before_delivered = REGISTRY.get_sample_value("chat_broadcast_delivery_seconds_count") or 0.0
    sockets = [await open_with_wire(user) for user in users[1:]]
    await settle(sockets)
    await send(chat, users[0], "counted")
    for socket, _ in sockets:
        assert await new_message_seqs(socket, 1) == [1]
    written = sum(len(wire.written) for _, wire in sockets)
    assert written == 3
    fanned = REGISTRY.get_sample_value("chat_websocket_frames_fanned_out_total") - before_fanned
    sent = (
        REGISTRY.get_sample_value("chat_websocket_frames_sent_total", {"type": "new_message"}) - before_sent
    )
    delivered = REGISTRY.get_sample_value("chat_broadcast_delivery_seconds_count") - before_delivered
    assert (fanned, sent, delivered) == (3, 3, 3)
    for socket, _ in sockets:
        await socket.close()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
async def test_prepare_frames_every_length_as_autobahn_does(size):
    text = "x" * size
    frame = prepare(text)
    assert unframe(frame) == text
    header = 2 if size < 126 else 4 if size < 65536 else 10
    assert len(frame) == header + size


async def test_a_failing_fan_out_loses_nothing_the_queue_delivers_it(caplog):
    chat, users = await room(2)
    socket, wire = await open_with_wire(users[1])
    await settle([(socket, wire)])
    wire.broken = True
    for i in range(3):
        await send(chat, users[0], f"m{i}")
    assert await new_message_seqs(socket, 3) == [1, 2, 3]
    assert "local fan-out failed" in caplog.text
    wire.broken = False
    await send(chat, users[0], "m3")
    assert await new_message_seqs(socket, 1) == [4]
    assert len(wire.written) == 1
    await socket.close()


async def test_a_group_message_without_its_encoded_frame_takes_the_queue():
    # As an older process would publish it during a rolling deploy.
    chat, users = await room(2)
    socket, wire = await open_with_wire(users[1])
    await settle([(socket, wire)])
    message = await send(chat, users[0], "old style")
    assert await new_message_seqs(socket, 1) == [1]
    old_style = layer_message(
        chat_group(chat.pk), ServerEvent.NEW_MESSAGE, {**message_payload(message), "seq": 2}
    )
    del old_style["frame"]
    await get_channel_layer().group_send(chat_group(chat.pk), old_style)
    assert await new_message_seqs(socket, 1) == [2]
    assert len(wire.written) == 1  # the first, through the wire; the second through the queue
    await socket.close()
