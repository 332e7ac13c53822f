"""realtime.layer.ordering: a chat's new messages handed to a process's sockets in seq order, gaps filled once."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from accounts.tests.factories import UserFactory
from chats.tests.factories import group_chat
from messaging.payloads import message_payload
from messaging.services import message_send
from realtime.broadcast import layer_message
from realtime.groups import chat_group
from realtime.layer.ordering import ChatOrder
from realtime.protocol.event_types import ServerEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def chat_with_messages(count: int) -> tuple[int, list[dict]]:
    owner = UserFactory()
    chat = group_chat(owner, UserFactory())
    sent = [message_send(chat_id=chat.pk, sender=owner, content=f"m{i}") for i in range(count)]
    return chat.pk, [message_payload(m) for m in sent]


class Recorder:
    """ChatOrder's two callbacks: what it delivered, and a fixed oldest cursor of the local sockets."""

    def __init__(self, cursor: int | None = 0) -> None:
        self.seqs: list[int] = []
        self.cursor = cursor

    def deliver(self, group: str, message: dict, fanout: object) -> None:
        self.seqs.append(message["payload"]["seq"])

    def oldest_cursor(self, group: str, chat_id: int) -> int | None:
        return self.cursor


async def test_messages_arriving_out_of_order_are_delivered_in_seq_order():
    chat_id, payloads = await chat_with_messages(3)
    recorder = Recorder()
    order = ChatOrder(recorder.deliver, recorder.oldest_cursor)
    group = chat_group(chat_id)

    for index in (1, 2, 0):  # seqs 2, 3, then 1
        order.arrive(group, chat_id, layer_message(group, ServerEvent.NEW_MESSAGE, payloads[index]))

    assert recorder.seqs == [1, 2, 3]


async def test_a_gap_that_outlives_the_wait_is_filled_from_the_database_in_order():
    chat_id, payloads = await chat_with_messages(4)
    recorder = Recorder()
    order = ChatOrder(recorder.deliver, recorder.oldest_cursor)
    group = chat_group(chat_id)

    for index in (0, 3):  # seq 1, then seq 4: 2 and 3 never arrive (their broadcasts were dropped)
        order.arrive(group, chat_id, layer_message(group, ServerEvent.NEW_MESSAGE, payloads[index]))
    assert recorder.seqs == [1]
    for _ in range(100):
        if len(recorder.seqs) == 4:
            break
        await asyncio.sleep(0.02)

    assert recorder.seqs == [1, 2, 3, 4]
    # A late broadcast of a filled seq still passes (each socket's cursor drops it), but only once more.
    order.arrive(group, chat_id, layer_message(group, ServerEvent.NEW_MESSAGE, payloads[1]))
    assert recorder.seqs == [1, 2, 3, 4, 2]


async def test_a_chat_starts_at_its_sockets_oldest_cursor():
    chat_id, payloads = await chat_with_messages(3)
    recorder = Recorder(cursor=1)  # the local sockets have seq 1 already
    order = ChatOrder(recorder.deliver, recorder.oldest_cursor)
    group = chat_group(chat_id)

    order.arrive(group, chat_id, layer_message(group, ServerEvent.NEW_MESSAGE, payloads[2]))  # seq 3 first
    assert recorder.seqs == []  # waits for 2, not taken for the start
    order.arrive(group, chat_id, layer_message(group, ServerEvent.NEW_MESSAGE, payloads[1]))

    assert recorder.seqs == [2, 3]
