"""What each channel-layer event does to one socket: one handler per event kind, routed by `type`.

A mixin of realtime.socket.consumer.ChatConsumer (which keeps the socket's state and life); each handler
decides from that state whether the socket gets the event: only chats it follows, each new message once
and in order (realtime.socket.delivery), changes not already replayed by a resume, presence news once.
"""

from collections.abc import Callable
from typing import Any

from accounts.sessions import session_kept
from chatproject import metrics
from chatproject.server.wire import SocketWire
from realtime.groups import chat_id_of_group
from realtime.layer.fanout import Fanout
from realtime.protocol import frames
from realtime.protocol.event_types import ServerEvent, layer_type
from realtime.socket.state import SocketState

_NEW_MESSAGE = layer_type(ServerEvent.NEW_MESSAGE)


def _writer(wire: SocketWire, frame: bytes) -> Callable[[], bool]:
    return lambda: wire.write(frame)


class EventRelay(SocketState):
    """The layer-event handlers of a chat socket (its state and operations: SocketState, ChatConsumer's)."""

    def _member_chat(self, message: dict[str, Any]) -> int | None:
        """The chat of a layer message (by its chat group, or the payload of a user group's event) if this
        socket follows it, else None: events queued before a removal drop."""
        chat_id = chat_id_of_group(message.get("group", "")) or message["payload"].get("chat_id")
        return chat_id if chat_id in self.chat_ids else None

    async def _forward(self, message: dict[str, Any]) -> None:
        await self.send_frame(message["event"], message["payload"], message.get("frame"))

    def barrier_queued(self) -> None:
        """The channel layer queued this socket a message that new messages must not overtake."""
        self.barriers += 1

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
        """The local fan-out's offer (realtime.layer.pubsub): write a new message now when it is this socket's
        next one in its chat (realtime.socket.delivery.OrderedDelivery.offer_now) and no other event waits for
        the socket; False for anything else, which then comes through the queue and its handler as always.

        New messages still queued for the socket do not stop it: one of them is older than this one,
        so the cursor is behind it and offer_now refuses; a queued duplicate is dropped by its handler.
        """
        message = fanout.message
        if message["type"] != _NEW_MESSAGE or self.barriers or self.closing or self.wire is None:
            return False
        chat_id = fanout.chat_id
        if chat_id not in self.chat_ids:
            return False
        seq = message["payload"]["seq"]
        cursor = self.delivery.cursor(chat_id)
        if cursor is not None and seq <= cursor:
            # Already sent (this socket's own send, answered directly): dropped here as the queue's
            # handler would, without making the queue non-empty. A cursor only moves forward.
            return True
        if cursor is not None and seq > cursor + 1 and not self._catch_up(chat_id, fanout, cursor):
            return False
        frame = fanout.wire_frame()
        if frame is None:
            return False
        wire = self.wire
        if self.delivery.offer_now(chat_id, seq, _writer(wire, frame)):
            fanout.written += 1
            return True
        return False

    def _catch_up(self, chat_id: int, fanout: Fanout, cursor: int) -> bool:
        """Write the chat's messages between the socket's cursor and this one from what the process keeps
        (realtime.layer.ordering), framed once: a socket that fell behind (its first-frame hold, a slow turn of
        its queue) is back on the fan-out at once, and what its queue still holds of them is dropped as
        duplicates. False, with the cursor moved as far as it got, when they are not all kept or the
        socket cannot take them now: the queue and the ordered delivery then bring it up as always."""
        earlier = fanout.earlier(cursor)
        if earlier is None or self.wire is None:
            return False
        wire, written = self.wire, 0
        try:
            for missed in earlier:
                frame = missed.wire_frame()
                if frame is None or not self.delivery.offer_now(chat_id, missed.seq, _writer(wire, frame)):
                    return False
                written += 1
        finally:
            if written:
                metrics.frames_fanned_out(ServerEvent.NEW_MESSAGE, written)
                metrics.caught_up(written)
        return True

    def chat_cursor(self, chat_id: int) -> int | None:
        """The newest seq of the chat this socket has sent (realtime.layer.ordering starts a chat at its sockets' oldest)."""
        return self.delivery.cursor(chat_id)

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

    async def chat_session_ended(self, message: dict[str, Any]) -> None:
        """`session_ended` (user group): this socket's session logged out or was revoked; close with 4410."""
        session = self.scope.get("session")
        if session is not None and session.id and session.id == message["payload"]["session"]:
            await self.close_with(frames.CLOSE_SESSION_REVOKED)
