"""The chat WebSocket consumer: the socket's lifecycle, and layer events routed by type to one handler each.

Client frames are realtime.commands; event names and payloads are realtime.protocol; the ordered
delivery of new messages is realtime.delivery. This module keeps the socket's state and its life:
connect (slot, ban re-check, joins, hold), expiry, layer loss, disconnect.
"""

import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.models import User
from chatproject import metrics
from chats.selectors import chat_last_seq_for_member
from realtime import frames, limits, selectors, watchdog
from realtime.commands import Commands
from realtime.delivery import OrderedDelivery
from realtime.expiry import CredentialExpiry
from realtime.groups import chat_group, chat_id_of_group, user_group
from realtime.handshake import LAYER_ERRORS, subprotocol
from realtime.presence.service import SeenPresence, socket_closed, socket_opened
from realtime.threads import in_db_thread

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    """One client socket: joins its user's and chats' groups, runs commands, relays events."""

    user: User
    chat_ids: set[int]
    delivery: OrderedDelivery
    socket_slot: str | None = None  # the channel name holding one of the user's socket slots
    socket_record: metrics.SocketRecord | None = None  # its lifecycle in the metrics and the log
    close_code: int | None = None  # the code this side closed with, if it did

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the consumer; if the channel layer fails, close with 1013 so the client reconnects."""
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as exc:
            logger.warning("websocket closed: channel layer unavailable: %s", exc)
            metrics.layer_error("socket")
            self.close_code = frames.CLOSE_TRY_AGAIN_LATER
            try:
                await send({"type": "websocket.close", "code": frames.CLOSE_TRY_AGAIN_LATER})
            except Exception:  # the client may already be gone
                logger.debug("close after layer failure not delivered", exc_info=True)
        finally:
            metrics.socket_closed(self.socket_record, self.close_code)
            # Here, not in websocket_disconnect: a connect that failed half-way holds its slot too.
            if self.socket_slot is not None:
                await limits.socket_slot_give_back(conn=self.socket_slot)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the message's handler (by `type`, as Channels does), without close_old_connections().

        Channels hops to its one shared sync thread per event to close stale ORM connections; every query
        here runs through in_db_thread, which returns its connection, so the hop would only serialise sockets.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """Join the user's and chats' groups, then accept; without an authenticated user, accept and close 4401."""
        self.chat_ids = set()
        self.commands = Commands(self)
        self.expiry = CredentialExpiry(self._expired)
        self.closing = False
        # Change cursor per chat reached by resumes: queued change events at or below it are already
        # reflected in what a resume replayed, so they are dropped, and a later resume starts above it.
        self.replayed_version: dict[int, int] = {}
        self.presence_seen = SeenPresence()
        # Until the client's first frame (or WS_RESUME_WAIT_SECONDS), live messages wait, so a `resume`
        # sent right after opening is replayed before them.
        self.delivery = OrderedDelivery(
            send=self.send_frame,
            fetch=self._fetch_messages,
            replay_limit=settings.WS_REPLAY_LIMIT,
            reorder_wait=settings.WS_REORDER_WAIT_SECONDS,
        )
        user = self.scope.get("user")
        if user is None:
            await self._refuse(frames.CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        if not await limits.socket_slot_take(user_id=user.pk, conn=self.channel_name):
            await self._refuse(frames.CLOSE_TOO_MANY_SOCKETS)
            return
        self.socket_slot = self.channel_name
        # Join before accepting, so once the client sees the socket open nothing sent to it is missed.
        # The user group first: a chat joined after this point is announced there.
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        # A ban that committed after the middleware authenticated but before the user group was joined
        # reached no socket of this one: read the account again now that any later ban will. In the same
        # trip, each chat's last seq, read before joining its group: a message committed in between is
        # above the cursor, and its broadcast, if missed, is repaired as a gap.
        active, cursors = await in_db_thread(selectors.connect_state)(user)
        if not active:
            await self._refuse(frames.CLOSE_ACCOUNT_DISABLED)
            return
        for chat_id, last_seq in cursors.items():
            await self.join_chat(chat_id, last_seq)
        await self.accept(subprotocol(self.scope))
        self.socket_record = metrics.socket_opened(self.scope)
        self.expiry.at(self.scope.get("token_exp"))
        self.delivery.release_after(settings.WS_RESUME_WAIT_SECONDS)
        watchdog.watch(self)
        await socket_opened(user_id=user.pk, conn=self.channel_name, chat_ids=self.chat_ids)

    async def _refuse(self, code: int) -> None:
        # Accept, then close: a browser cannot read a refused handshake, but it can read the code.
        await self.accept(subprotocol(self.scope))
        self.socket_record = metrics.socket_opened(self.scope, accepted=False)
        await self.close_with(code)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Leave every group and stop."""
        metrics.socket_closed(self.socket_record, self.close_code or message.get("code"))
        self.expiry.cancel()
        if hasattr(self, "delivery"):
            self.delivery.close()
        watchdog.unwatch(self)
        if hasattr(self, "user"):
            await socket_closed(user_id=self.user.pk, conn=self.channel_name, chat_ids=self.chat_ids)
            for group in [user_group(self.user.pk), *(chat_group(chat_id) for chat_id in self.chat_ids)]:
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except LAYER_ERRORS:
                    break  # the layer is down; its group entries expire on their own
        raise StopConsumer()

    async def _expired(self) -> None:
        await self.close_with(frames.CLOSE_UNAUTHENTICATED)

    async def layer_lost(self) -> None:
        """The channel layer is unreachable: close with 1013 so the client reconnects and resumes."""
        await self.close_with(frames.CLOSE_TRY_AGAIN_LATER)

    async def close_with(self, code: int) -> None:
        """Close once with `code`; later frames are not sent."""
        if not self.closing:
            self.closing = True
            self.close_code = code
            await self.close(code=code)
            metrics.socket_closed(self.socket_record, code)

    async def join_chat(self, chat_id: int, last_seq: int | None = None) -> bool:
        """Subscribe this socket to a chat's group, expecting its messages after `last_seq`.

        Without `last_seq` (a chat joined while the socket is open) it is read after joining the group,
        so no message after it can be missed. False if the user is no longer a member.
        """
        await self.channel_layer.group_add(chat_group(chat_id), self.channel_name)
        if last_seq is None:
            last_seq = await in_db_thread(chat_last_seq_for_member)(chat_id=chat_id, user=self.user)
            if last_seq is None:
                await self.channel_layer.group_discard(chat_group(chat_id), self.channel_name)
                return False
        self.chat_ids.add(chat_id)
        self.delivery.start(chat_id, last_seq)
        return True

    async def leave_chat(self, chat_id: int) -> None:
        """Unsubscribe this socket from a chat's group and forget its cursor."""
        self.chat_ids.discard(chat_id)
        self.delivery.stop(chat_id)
        await self.channel_layer.group_discard(chat_group(chat_id), self.channel_name)

    async def send_frame(self, frame_type: str, payload: dict[str, Any], text: str | None = None) -> None:
        """Send one frame unless the socket is closing; `text` is the frame already encoded, if it is."""
        if not self.closing:
            metrics.frame_sent(frame_type)
            await self.send(text_data=text if text is not None else frames.encode(frame_type, payload))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Run one client frame's command (realtime.commands)."""
        await self.commands.receive(text_data if text_data is not None else bytes_data or b"")

    async def _fetch_messages(self, chat_id: int, after_seq: int, through_seq: int) -> list[dict[str, Any]]:
        """OrderedDelivery's window of a chat from the database (replay limit + 1 at most)."""
        return await in_db_thread(selectors.message_window)(
            self.user, chat_id, after_seq, through_seq, settings.WS_REPLAY_LIMIT + 1
        )

    def _member_chat(self, message: dict[str, Any]) -> int | None:
        """The chat of a layer message if this socket follows it, else None: events queued before a removal drop."""
        # A chat group names its chat; a user group's events name theirs in the payload.
        chat_id = chat_id_of_group(message.get("group", "")) or message["payload"].get("chat_id")
        return chat_id if chat_id in self.chat_ids else None

    async def _forward(self, message: dict[str, Any]) -> None:
        await self.send_frame(message["event"], message["payload"], message.get("frame"))

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
