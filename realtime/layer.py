"""channels-redis's pub/sub layer, decoding each group message once per process instead of once per socket.

RedisPubSubChannelLayer hands the raw bytes of a group message to every local channel in the group, and
each channel's receive() runs msgpack over the same bytes: in a room of 500 members that is 500 decodes
of one message in one process (about a tenth of its CPU in the big-room profile). Here the shard's
receiver decodes a group message once and queues the same dict for every local channel of the group;
receive() returns it as is. Consumers treat layer messages as read-only (realtime.consumers never
mutates one), so sharing the dict is safe. Everything else, Redis and its pub/sub channels included, is
channels-redis's own: processes running this layer and ones running the stock layer interoperate.

The local fan-out goes one step further: a socket whose consumer has `attach`ed itself is offered the
group message right there, as a realtime.fanout.Fanout shared by all the group's local sockets, and
whatever it takes now (its next new message, written as a frame prepared once) needs no queue, no task
wake-up and no dispatch. It takes only what its queue would have handed it next: never while its queue
holds anything, or while a message it was handed is not handled yet (receive() tells it, `taken()`, in
the same step that takes the message off the queue). The rest is queued as before.
"""

import asyncio
import logging
from typing import Any, Protocol

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)

from realtime.fanout import Fanout

logger = logging.getLogger(__name__)


class _Decoded(dict[str, Any]):
    """A group message already decoded, shared by the group's local channels."""


class LocalReceiver(Protocol):
    """A consumer that takes group messages straight from the layer when it can (see the module)."""

    def taken(self) -> None:
        """receive() has just handed the consumer its channel's next message."""

    def deliver_now(self, fanout: Fanout) -> bool:
        """Handle the fan-out's message now, or False (nothing done) to have it queued."""


class _DecodeOnceShard(RedisSingleShardConnection):
    def _receive_message(self, message: Any) -> None:
        if message is None:
            return
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        if name in layer.channels:
            layer.channels[name].put_nowait(message["data"])
            return
        members = layer.groups.get(name)
        if not members:
            return
        decoded = _Decoded(layer.channel_layer.deserialize(message["data"]))
        attached = layer.channel_layer.attached
        fanout: Fanout | None = None
        for channel_name in members:
            queue = layer.channels.get(channel_name)
            if queue is None:
                continue
            receiver = attached.get(channel_name)
            if receiver is not None and queue.empty():
                if fanout is None:
                    fanout = Fanout(decoded)
                try:
                    if receiver.deliver_now(fanout):
                        continue
                except Exception:
                    # A bug here must not stop this process's deliveries (channels-redis's receive loop
                    # would drop the rest of the group and pause): the queue still has it.
                    logger.exception("local fan-out failed for %s; queued instead", channel_name)
            queue.put_nowait(decoded)
        if fanout is not None:
            fanout.finish()


class _DecodeOnceLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stock: list[RedisSingleShardConnection] = self._shards  # type: ignore[has-type]
        self._shards = [_DecodeOnceShard(shard.host, self) for shard in stock]


class DecodeOncePubSubChannelLayer(RedisPubSubChannelLayer):
    """RedisPubSubChannelLayer whose group messages are decoded once per process (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attached: dict[str, LocalReceiver] = {}

    def attach(self, channel: str, receiver: LocalReceiver) -> None:
        """Offer the channel's group messages to `receiver` before queueing them (the local fan-out)."""
        self.attached[channel] = receiver

    def detach(self, channel: str) -> None:
        """Queue every message for the channel again."""
        self.attached.pop(channel, None)

    async def receive(self, channel: str) -> Any:
        """The channel's next message; an attached receiver learns it in the step that takes it off the queue."""
        message = await self._get_layer().receive(channel)
        receiver = self.attached.get(channel)
        if receiver is not None:
            receiver.taken()
        return message

    def deserialize(self, message: Any) -> Any:
        if isinstance(message, _Decoded):
            return message
        return super().deserialize(message)

    def _get_layer(self) -> Any:
        # As the parent's (one loop layer per event loop, closed with it), with the decode-once loop layer.
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _DecodeOnceLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
