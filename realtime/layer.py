"""channels-redis's pub/sub layer, decoding each group message once per process instead of once per socket.

RedisPubSubChannelLayer hands the raw bytes of a group message to every local channel in the group, and
each channel's receive() runs msgpack over the same bytes: in a room of 500 members that is 500 decodes
of one message in one process (about a tenth of its CPU in the big-room profile). Here the shard's
receiver decodes a group message once and queues the same dict for every local channel of the group;
receive() returns it as is. Consumers treat layer messages as read-only (realtime.consumers never
mutates one), so sharing the dict is safe. Everything else, Redis and its pub/sub channels included, is
channels-redis's own: processes running this layer and ones running the stock layer interoperate.
"""

import asyncio
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)


class _Decoded(dict[str, Any]):
    """A group message already decoded, shared by the group's local channels."""


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
        for channel_name in members:
            queue = layer.channels.get(channel_name)
            if queue is not None:
                queue.put_nowait(decoded)


class _DecodeOnceLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stock: list[RedisSingleShardConnection] = self._shards  # type: ignore[has-type]
        self._shards = [_DecodeOnceShard(shard.host, self) for shard in stock]


class DecodeOncePubSubChannelLayer(RedisPubSubChannelLayer):
    """RedisPubSubChannelLayer whose group messages are decoded once per process (see the module)."""

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
