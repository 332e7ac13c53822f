"""The chat WebSocket consumer: the socket's state and its life.

Connect (slot, ban re-check, joins, hold), expiry, layer loss, disconnect. Client frames are
realtime.socket.commands; layer events go by `type` to one handler each in realtime.socket.relay; event names and
payloads are realtime.protocol.event_types; the ordered delivery of new messages is realtime.socket.delivery.
"""

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from chatproject import metrics
from chatproject.conf import chat_settings
from chatproject.errors import REDIS_ERRORS
from chatproject.server.wire import SCOPE_EXTENSION
from chats.selectors import chat_last_seq_for_member
from realtime import selectors
from realtime.groups import chat_group, user_group
from realtime.handshake.admission import subprotocol
from realtime.presence.service import SeenPresence, socket_came_online, socket_close, socket_open
from realtime.protocol import frames
from realtime.protocol.event_types import ServerEvent, layer_type
from realtime.registry.store import Opened
from realtime.socket import watchdog
from realtime.socket.commands import Commands
from realtime.socket.delivery import OrderedDelivery
from realtime.socket.expiry import CredentialExpiry
from realtime.socket.relay import EventRelay
from realtime.threads import in_db_thread

logger = logging.getLogger(__name__)

try:
    from autobahn.exception import Disconnected

    # What Daphne's send raises for a frame to a client that has gone.
    DISCONNECTED: tuple[type[BaseException], ...] = (Disconnected,)
except ImportError:  # pragma: no cover - another ASGI server
    DISCONNECTED = ()

_NEW_MESSAGE = layer_type(ServerEvent.NEW_MESSAGE)


def resume_wait(scope: dict[str, Any]) -> float:
    """How long live messages wait for the client's first frame: longer when it promised a `resume`."""
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin1"))
    if query.get("resume", [""])[0] in ("1", "true"):
        return chat_settings.WS_RESUME_PROMISED_WAIT_SECONDS
    return chat_settings.WS_RESUME_WAIT_SECONDS


class ChatConsumer(EventRelay, AsyncWebsocketConsumer):
    """One client socket: joins its user's and chats' groups, runs commands, relays events."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the consumer; if the channel layer fails, close with 1013 so the client reconnects."""
        try:
            await super().__call__(scope, receive, send)
        except REDIS_ERRORS as exc:
            logger.warning("websocket closed: channel layer unavailable: %s", exc)
            metrics.layer_error("socket")
            self.close_code = frames.CLOSE_TRY_AGAIN_LATER
            with contextlib.suppress(Exception):  # the client may already be gone
                await send({"type": "websocket.close", "code": frames.CLOSE_TRY_AGAIN_LATER})
        finally:  # not in websocket_disconnect: a connect that failed half-way holds its slot too
            self._detach()
            metrics.socket_closed(self.socket_record, self.close_code)
            if self.registered:
                # A socket refused after it was recorded (a ban re-checked) was never announced: tell no chat.
                told = (
                    self.chat_ids if self.socket_record is not None and self.socket_record.opened else set()
                )
                await socket_close(user_id=self.user.pk, conn=self.channel_name, chat_ids=told)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the message's handler (by `type`, as Channels does), without close_old_connections(): every
        query here runs through in_db_thread, which returns its connection, so Channels' hop to its one
        sync thread per event would only serialise sockets."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        finally:
            kind = message["type"]
            if self.barriers and kind != _NEW_MESSAGE and not kind.startswith("websocket."):
                self.barriers -= 1

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """Join the user's and chats' groups, then accept; without an authenticated user, accept and close 4401."""
        self.chat_ids = set()
        self.commands = Commands(self)
        self.expiry = CredentialExpiry(self._expired)
        self.closing = False
        self.replayed_version: dict[int, int] = {}
        self.presence_seen = SeenPresence()
        # Live messages wait for the client's first frame (or resume_wait()): a `resume` goes first.
        self.delivery = OrderedDelivery(
            send=self.send_frame,
            fetch=self._fetch_messages,
            replay_limit=chat_settings.WS_REPLAY_LIMIT,
            reorder_wait=chat_settings.WS_REORDER_WAIT_SECONDS,
        )
        # Before any group is joined, so every layer message this socket is handed is counted (realtime.layer.pubsub).
        self._attach()
        user = self.scope.get("user")
        if user is None:
            await self._refuse(frames.CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        # One registry call: refused past the user's cap, else recorded (and maybe their first socket).
        opened = await socket_open(user_id=user.pk, conn=self.channel_name)
        if opened is Opened.REFUSED:
            await self._refuse(frames.CLOSE_TOO_MANY_SOCKETS)
            return
        self.registered = True
        # Join before accepting, so once the client sees the socket open nothing sent to it is missed.
        # The user group first: a chat joined after this point is announced there.
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        # A ban or password change that committed after the middleware authenticated but before the user
        # group was joined reached no socket of this one: read the account again now that any later one
        # will. In the same trip, each chat's last seq, read before joining its group: a message committed
        # in between is above the cursor, and its broadcast, if missed, is repaired as a gap.
        refusal, cursors = await in_db_thread(selectors.connect_state)(user, self.scope.get("session"))
        if refusal is not None:
            await self._refuse(refusal)
            return
        for chat_id, last_seq in cursors.items():
            await self.join_chat(chat_id, last_seq)
        await self.accept(subprotocol(self.scope))
        self.socket_record = metrics.socket_opened(self.scope)
        self.expiry.at(self.scope.get("token_exp"))
        self.delivery.release_after(
            resume_wait(self.scope), self.wire.client_frames_read if self.wire is not None else None
        )
        watchdog.watch(self)
        if opened is Opened.CAME_ONLINE:
            await socket_came_online(user_id=user.pk, chat_ids=self.chat_ids)

    def _attach(self) -> None:
        """Take new messages straight from the channel layer when the server gives the socket's wire."""
        wire = self.scope.get("extensions", {}).get(SCOPE_EXTENSION)
        if wire is not None and hasattr(self.channel_layer, "attach"):
            self.wire = wire
            self.channel_layer.attach(self.channel_name, self)

    def _detach(self) -> None:
        if self.wire is not None:
            self.wire = None
            self.channel_layer.detach(self.channel_name)

    async def _refuse(self, code: int) -> None:
        # Accept, then close: a browser cannot read a refused handshake, but it can read the code.
        await self.accept(subprotocol(self.scope))
        self.socket_record = metrics.socket_opened(self.scope, accepted=False)
        await self.close_with(code)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Leave every group and stop."""
        metrics.socket_closed(self.socket_record, self.close_code or message.get("code"))
        self._detach()
        self.expiry.cancel()
        if hasattr(self, "delivery"):
            self.delivery.close()
        watchdog.unwatch(self)
        if hasattr(self, "user"):
            for group in [user_group(self.user.pk), *(chat_group(chat_id) for chat_id in self.chat_ids)]:
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except REDIS_ERRORS:
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
        # Handed to the group's sockets after the cursor was read and before this one joined: it missed
        # them, and nothing repairs a gap until a later message comes.
        for message in getattr(self.channel_layer, "joined", lambda *_: [])(chat_id, last_seq):
            await self.delivery.offer(message["payload"], message.get("frame"))
        return True

    async def leave_chat(self, chat_id: int) -> None:
        """Unsubscribe this socket from a chat's group and forget its cursor."""
        self.chat_ids.discard(chat_id)
        self.delivery.stop(chat_id)
        await self.channel_layer.group_discard(chat_group(chat_id), self.channel_name)

    async def send_frame(self, frame_type: str, payload: dict[str, Any], text: str | None = None) -> None:
        """Send one frame unless the socket is closing; `text` is the frame already encoded, if it is.

        A client that closed while frames were on their way to it is a normal disconnect: the frame is
        dropped and counted, not raised (its websocket.disconnect follows).
        """
        if not self.closing:
            metrics.frame_sent(frame_type)
            try:
                await self.send(text_data=text if text is not None else frames.encode(frame_type, payload))
            except DISCONNECTED:
                metrics.frame_dropped()
                logger.debug("frame %s dropped: the client has gone", frame_type)

    def fell_behind(self) -> None:
        """More than WS_MAX_QUEUED_EVENTS wait for this socket (realtime.layer.pubsub): close it with 1013, so
        that its client reconnects and resumes from the database instead of queueing here without end."""
        if not self.closing:
            metrics.fell_behind()
            logger.warning("websocket fell behind its chats: closing 1013")
            # Still attached: the layer queues nothing more for it while its queue is over the bound.
            self.closing_task = asyncio.ensure_future(self.close_with(frames.CLOSE_TRY_AGAIN_LATER))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Run one client frame's command (realtime.socket.commands)."""
        await self.commands.receive(text_data if text_data is not None else bytes_data or b"")

    async def _fetch_messages(self, chat_id: int, after_seq: int, through_seq: int) -> list[dict[str, Any]]:
        """OrderedDelivery's window of a chat from the database (replay limit + 1 at most)."""
        return await in_db_thread(selectors.message_window)(
            self.user, chat_id, after_seq, through_seq, chat_settings.WS_REPLAY_LIMIT + 1
        )
