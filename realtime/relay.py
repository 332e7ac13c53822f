"""What each channel-layer event does to one socket: one handler per event kind, routed by `type`.

A mixin of realtime.consumers.ChatConsumer (which keeps the socket's state and life); each handler
decides from that state whether the socket gets the event: only chats it follows, each new message once
and in order (realtime.delivery), changes not already replayed by a resume, presence news once.
"""

from typing import Any

from accounts.models import User
from accounts.sessions import session_kept
from chatproject import metrics
from realtime import frames
from realtime.delivery import OrderedDelivery
from realtime.fanout import Fanout
from realtime.groups import chat_id_of_group
from realtime.presence.service import SeenPresence
from realtime.protocol import ServerEvent, layer_type
from realtime.wire import SocketWire

_NEW_MESSAGE = layer_type(ServerEvent.NEW_MESSAGE)


class EventRelay:
    """The layer-event handlers of a chat socket (ChatConsumer supplies the state and the methods below)."""

    user: User
    chat_ids: set[int]
    delivery: OrderedDelivery
    presence_seen: SeenPresence
    replayed_version: dict[int, int]
    scope: dict[str, Any]
    closing: bool
    wire: SocketWire | None
    # Layer messages taken off the channel's queue and not yet handled, and whether a handler runs now:
    # while either holds, the local fan-out queues (the consumer's order is the queue's).
    layer_messages_taken: int
    dispatching: bool

    async def send_frame(self, frame_type: str, payload: dict[str, Any], text: str | None = None) -> None:
        raise NotImplementedError

    async def close_with(self, code: int) -> None:
        raise NotImplementedError

    async def join_chat(self, chat_id: int, last_seq: int | None = None) -> bool:
        raise NotImplementedError

    async def leave_chat(self, chat_id: int) -> None:
        raise NotImplementedError

    def _member_chat(self, message: dict[str, Any]) -> int | None:
        """The chat of a layer message (by its chat group, or the payload of a user group's event) if this
        socket follows it, else None: events queued before a removal drop."""
        chat_id = chat_id_of_group(message.get("group", "")) or message["payload"].get("chat_id")
        return chat_id if chat_id in self.chat_ids else None

    async def _forward(self, message: dict[str, Any]) -> None:
        await self.send_frame(message["event"], message["payload"], message.get("frame"))

    def taken(self) -> None:
        """The channel layer handed this consumer a message (realtime.layer): it is not handled yet."""
        self.layer_messages_taken += 1

    async def _relay(self, message: dict[str, Any]) -> None:
        """Send a chat's event as it came, if this socket follows the chat."""
        if self._member_chat(message) is not None:
            await self._forward(message)

    async def _relay_change(self, message: dict[str, Any]) -> None:
        """Send a change to an existing message unless a resume already replayed it (by `version`)."""
        chat_id = self._member_chat(message)
        if chat_id is not None and message["payload"]["version"] > self.replayed_version.get(chat_id, 0):
            await self._forward(message)

    async def chat_new_message(self, message: dict[str, Any]) -> None:
        """`new_message`: through the ordered delivery (each seq once, in order)."""
        if self._member_chat(message) is not None:
            metrics.broadcast_delivered(message.get("sent_at"))
            await self.delivery.offer(message["payload"], message.get("frame"))

    def deliver_now(self, fanout: Fanout) -> bool:
        """The local fan-out's offer (realtime.layer): write a new message now when it is this socket's
        next one in its chat (realtime.delivery.OrderedDelivery.offer_now); False for anything else, which
        then comes through the queue and its handler as always."""
        message = fanout.message
        if (
            message["type"] != _NEW_MESSAGE
            or self.dispatching
            or self.layer_messages_taken
            or self.closing
            or self.wire is None
        ):
            return False
        chat_id = fanout.chat_id
        if chat_id not in self.chat_ids:
            return False
        frame = fanout.wire_frame()
        if frame is None:
            return False
        wire = self.wire
        if self.delivery.offer_now(chat_id, message["payload"]["seq"], lambda: wire.write(frame)):
            fanout.written += 1
            return True
        return False

    chat_message_updated = _relay_change
    chat_message_deleted = _relay_change
    chat_reaction_added = _relay_change
    chat_reaction_removed = _relay_change
    chat_read = _relay
    chat_chat_updated = _relay
    chat_member_updated = _relay

    async def chat_typing(self, message: dict[str, Any]) -> None:
        """`typing`: relayed to the chat's members except the typist's own sockets."""
        if message["payload"]["user_id"] != self.user.pk:
            await self._relay(message)

    async def chat_presence(self, message: dict[str, Any]) -> None:
        """`presence`: relay another user's change once, though it arrives through every chat shared with them."""
        payload = message["payload"]
        if self._member_chat(message) is not None and self.presence_seen.is_news(payload, me=self.user.pk):
            await self._forward(message)

    async def chat_chat_created(self, message: dict[str, Any]) -> None:
        """`chat_created` (user group): join the new chat, whose messages start at 1, and relay it."""
        # Messages sent before this socket joined are repaired from the database as a gap.
        chat_id = message["payload"]["id"]
        if chat_id not in self.chat_ids and await self.join_chat(chat_id, 0):
            await self._forward(message)

    async def chat_member_added(self, message: dict[str, Any]) -> None:
        """`member_added`: for this user, join the chat and relay once (chat and user group); else relay."""
        payload = message["payload"]
        if payload["user_id"] != self.user.pk:
            await self._relay(message)
        elif payload["chat"]["id"] not in self.chat_ids and await self.join_chat(payload["chat"]["id"]):
            await self._forward(message)

    async def chat_member_removed(self, message: dict[str, Any]) -> None:
        """`member_removed`: relay; for this user, then leave the chat (so the second copy is dropped)."""
        chat_id = self._member_chat(message)
        if chat_id is not None:
            await self._forward(message)
            if message["payload"]["user_id"] == self.user.pk:
                await self.leave_chat(chat_id)

    async def chat_account_disabled(self, message: dict[str, Any]) -> None:
        """`account_disabled` (user group): staff disabled this user; close with 4403."""
        await self.close_with(frames.CLOSE_ACCOUNT_DISABLED)

    async def chat_sessions_revoked(self, message: dict[str, Any]) -> None:
        """`sessions_revoked` (user group): the password changed; close with 4410 unless in the kept session."""
        if not session_kept(self.scope.get("session"), keep=message["payload"]["keep_session"]):
            await self.close_with(frames.CLOSE_SESSION_REVOKED)
