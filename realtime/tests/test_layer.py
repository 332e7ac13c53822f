"""realtime.layer.pubsub: channels-redis pub/sub, with each group message decoded once per process."""

import asyncio
import uuid

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from realtime.layer.pubsub import DecodeOncePubSubChannelLayer

pytestmark = pytest.mark.asyncio


class CountingLayer(DecodeOncePubSubChannelLayer):
    """Counts the msgpack decodes it really does."""

    decodes = 0

    def deserialize(self, message):
        if isinstance(message, bytes):
            type(self).decodes += 1
        return super().deserialize(message)


def hosts():
    return [settings.REDIS_URL]


async def test_a_group_message_is_decoded_once_for_every_local_channel():
    layer = CountingLayer(hosts=hosts())
    CountingLayer.decodes = 0
    group = f"g{uuid.uuid4().hex}"
    channels = [await layer.new_channel() for _ in range(20)]
    for channel in channels:
        await layer.group_add(group, channel)
    try:
        await layer.group_send(group, {"type": "chat.new_message", "payload": {"seq": 1, "text": "é"}})
        received = [await asyncio.wait_for(layer.receive(channel), 5) for channel in channels]
    finally:
        await layer.flush()

    assert received == [{"type": "chat.new_message", "payload": {"seq": 1, "text": "é"}}] * 20
    assert CountingLayer.decodes == 1


async def test_messages_to_one_channel_and_groups_keep_their_order():
    layer = DecodeOncePubSubChannelLayer(hosts=hosts())
    group = f"g{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        for seq in range(1, 51):
            if seq % 5 == 0:
                await layer.send(channel, {"type": "direct", "seq": seq})
            else:
                await layer.group_send(group, {"type": "grouped", "seq": seq})
        seqs = [(await asyncio.wait_for(layer.receive(channel), 5))["seq"] for _ in range(50)]
    finally:
        await layer.flush()

    assert seqs == list(range(1, 51))


async def test_it_interoperates_with_the_stock_layer_in_other_processes():
    # A process still on the stock layer (a rolling deploy) publishes; this one receives, and back.
    ours, stock = DecodeOncePubSubChannelLayer(hosts=hosts()), RedisPubSubChannelLayer(hosts=hosts())
    group = f"g{uuid.uuid4().hex}"
    mine, theirs = await ours.new_channel(), await stock.new_channel()
    await ours.group_add(group, mine)
    await stock.group_add(group, theirs)
    try:
        await stock.group_send(group, {"type": "from.stock"})
        await ours.group_send(group, {"type": "from.ours"})
        got_mine = [(await asyncio.wait_for(ours.receive(mine), 5))["type"] for _ in range(2)]
        got_theirs = [(await asyncio.wait_for(stock.receive(theirs), 5))["type"] for _ in range(2)]
    finally:
        await ours.flush()
        await stock.flush()

    assert got_mine == got_theirs == ["from.stock", "from.ours"]


async def test_a_channel_that_left_the_group_gets_nothing_more():
    layer = DecodeOncePubSubChannelLayer(hosts=hosts())
    group = f"g{uuid.uuid4().hex}"
    staying, leaving = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(group, staying)
    await layer.group_add(group, leaving)
    try:
        await layer.group_discard(group, leaving)
        await layer.group_send(group, {"type": "after"})
        assert (await asyncio.wait_for(layer.receive(staying), 5))["type"] == "after"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(leaving), 0.3)
    finally:
        await layer.flush()
