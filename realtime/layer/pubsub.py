"""channels-redis's pub/sub layer, decoding each group message once per process instead of once per socket.

RedisPubSubChannelLayer hands the raw bytes of a group message to every local channel in the group, and
each channel's receive() runs msgpack over the same bytes: in a room of 500 members that is 500 decodes
of one message in one process (about a tenth of its CPU in the big-room profile). Here the shard's
receiver decodes a group message once and queues the same dict for every local channel of the group;
receive() returns it as is. Consumers treat layer messages as read-only (realtime.socket.consumer never
mutates one), so sharing the dict is safe. Everything else, Redis and its pub/sub channels included, is
channels-redis's own: processes running this layer and ones running the stock layer interoperate.

The local fan-out goes one step further: a socket whose consumer has `attach`ed itself is offered the
group message right there, as a realtime.layer.fanout.Fanout shared by all the group's local sockets, and
whatever it takes now (its next new message, written as a frame prepared once) needs no queue, no task
wake-up and no dispatch. It takes only a new message that is its next seq in the chat, and never while
an event of another kind waits in its queue or is being handled (`barrier_queued()`, counted out by the
consumer's dispatch): a new message must not overtake a removal, a ban or a session's end. Queued new
messages are no barrier, since the socket's cursor orders them. The rest is queued.

Before any of that, a chat's `new_message`s are put in seq order once for the process
(realtime.layer.ordering), so that every socket is handed its next seq and stays on the fan-out path.
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

from chatproject.conf import chat_settings
from realtime.groups import chat_id_of_group
from realtime.layer.fanout import Fanout
from realtime.layer.ordering import ChatOrder
from realtime.protocol.event_types import ServerEvent, layer_type

logger = logging.getLogger(__name__)

_NEW_MESSAGE = layer_type(ServerEvent.NEW_MESSAGE)


class _Decoded(dict[str, Any]):
    """A group message already decoded, shared by the group's local channels."""


class LocalReceiver(Protocol):
    """A consumer that takes group messages straight from the layer when it can (see the module)."""

    def barrier_queued(self) -> None:
        """A message other than a new message was queued for the consumer (it counts it out once handled)."""

    def deliver_now(self, fanout: Fanout) -> bool:
        """Handle the fan-out's message now, or False (nothing done) to have it queued."""

    def chat_cursor(self, chat_id: int) -> int | None:
        """The newest seq of the chat this socket has sent, or None if it does not follow the chat."""

    def fell_behind(self) -> None:
        """Too many events wait for this socket: close it (it detaches itself)."""


class _DecodeOnceShard(RedisSingleShardConnection):
    def _receive_message(self, message: Any) -> None:
        if message is None:
            return
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        if name in layer.channels:
            receiver = layer.channel_layer.attached.get(name)
            if receiver is not None:
                receiver.barrier_queued()  # not decoded here: whatever it is, nothing overtakes it
            layer.channels[name].put_nowait(message["data"])
            return
        members = layer.groups.get(name)
        if not members:
            return
        decoded = _Decoded(layer.channel_layer.deserialize(message["data"]))
        # `name` is the group's pub/sub channel (prefixed by channels-redis); the message names its group.
        chat_id = chat_id_of_group(decoded.get("group", "")) if decoded.get("type") == _NEW_MESSAGE else None
        if chat_id is not None:
            layer.order.arrive(name, chat_id, decoded)
        else:
            layer.fan_out(name, decoded, None)


class _DecodeOnceLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stock: list[RedisSingleShardConnection] = self._shards  # type: ignore[has-type]
        self._shards = [_DecodeOnceShard(shard.host, self) for shard in stock]
        self.order = ChatOrder(self.fan_out, self._oldest_cursor)
        self._fresh: dict[int, str] = {}  # chat id -> its group, subscribed here and not yet joined()

    def fan_out(self, name: str, decoded: dict[str, Any], fanout: Fanout | None) -> None:
        """Hand a decoded group message to the group's local channels: written now by the sockets that
        can take it (the local fan-out, `fanout` when the caller made it), queued for the others."""
        members = self.groups.get(name)
        if not members:
            return
        if not isinstance(decoded, _Decoded):
            decoded = _Decoded(decoded)  # a message the process made (a gap filled from the database)
        attached = self.channel_layer.attached
        new_message = decoded.get("type") == _NEW_MESSAGE
        for channel_name in members:
            queue = self.channels.get(channel_name)
            if queue is None:
                continue
            receiver = attached.get(channel_name)
            if receiver is not None:
                if new_message:
                    if fanout is None:
                        fanout = Fanout(decoded)
                    try:
                        if receiver.deliver_now(fanout):
                            continue
                    except Exception:
                        # A bug here must not stop this process's deliveries (channels-redis's receive
                        # loop would drop the rest of the group and pause): the queue still has it.
                        logger.exception("local fan-out failed for %s; queued instead", channel_name)
                if queue.qsize() >= chat_settings.WS_MAX_QUEUED_EVENTS:
                    # Behind by more than the bound: no more memory for it; its client resumes.
                    receiver.fell_behind()
                    continue
                if not new_message:
                    receiver.barrier_queued()
            queue.put_nowait(decoded)
        if fanout is not None and fanout.written:
            fanout.finish()

    async def group_add(self, group: str, channel: str) -> None:
        """channels-redis's; notes a chat group this process did not listen to yet (see joined())."""
        name = self._get_group_channel_name(group)
        first = not self.groups.get(name)
        await super().group_add(group, channel)
        chat_id = chat_id_of_group(group)
        if first and chat_id is not None:
            self._fresh[chat_id] = name

    def joined(self, chat_id: int, after_seq: int) -> list[dict[str, Any]]:
        """A local socket joined the chat's group expecting what follows `after_seq`: the messages handed
        to the group meanwhile that it missed; and if this process has only now begun to listen to the
        chat, its tail is read once (realtime.ordering.ChatOrder.subscribed)."""
        name = self._fresh.pop(chat_id, None)
        if name is not None:
            self.order.subscribed(name, chat_id, after_seq)
        return self.order.kept_after(chat_id, after_seq)

    def _oldest_cursor(self, name: str, chat_id: int) -> int | None:
        attached = self.channel_layer.attached
        cursors = [
            cursor
            for channel_name in self.groups.get(name, ())
            if (receiver := attached.get(channel_name)) is not None
            and (cursor := receiver.chat_cursor(chat_id)) is not None
        ]
        return min(cursors, default=None)


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

    def joined(self, chat_id: int, after_seq: int) -> list[dict[str, Any]]:
        """A local socket joined the chat's group after reading `after_seq`: what it missed (see the loop
        layer's joined())."""
        layer = self._layers.get(asyncio.get_running_loop())
        return layer.joined(chat_id, after_seq) if layer is not None else []

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
