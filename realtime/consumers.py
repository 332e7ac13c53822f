"""The chat WebSocket: a thin transport over the chats and messaging services.

Delivery over a live socket is at most once through the channel layer; PostgreSQL is the source of
truth. realtime.delivery.OrderedDelivery turns that into every message once, in seq order, per socket:
it knows each chat's cursor from the moment the socket subscribes, waits briefly for a message that
arrives ahead of a missing one, and repairs a gap that outlives the wait from the database.
"""

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from rest_framework import serializers as drf_serializers

from accounts.models import User
from accounts.selectors import user_is_active
from chatproject.errors import DomainError
from chatproject.fields import iso_datetime
from chats.selectors import chat_cursors_for_user, chat_last_seq_for_member
from chats.services import chat_mark_read
from messaging.payloads import message_change_event, message_payload
from messaging.selectors import messages_after, messages_changed
from messaging.services import message_delete, message_edit, message_send
from realtime import frames, limits, presence, watchdog
from realtime.auth import reauthenticate
from realtime.delivery import OrderedDelivery
from realtime.events import layer_message
from realtime.groups import chat_group, user_group
from realtime.serializers import (
    AuthFrameSerializer,
    DeleteMessageFrameSerializer,
    EditMessageFrameSerializer,
    MessageSendSerializer,
    ReadFrameSerializer,
    ResumeFrameSerializer,
    TypingFrameSerializer,
)
from realtime.threads import in_db_thread

logger = logging.getLogger(__name__)

# Errors that mean the channel layer (Redis) is unreachable.
try:
    from redis.exceptions import RedisError

    LAYER_ERRORS: tuple[type[BaseException], ...] = (
        RedisError,
        ConnectionError,
        OSError,
        asyncio.TimeoutError,
    )
except ImportError:  # pragma: no cover
    LAYER_ERRORS = (ConnectionError, OSError, asyncio.TimeoutError)

DB_DOWN = (OperationalError, InterfaceError)

# ChatConsumer._validated's serializer instances, one per class.
_FRAME_VALIDATORS: dict[type[drf_serializers.Serializer[Any]], drf_serializers.Serializer[Any]] = {}


def _chat_id_of(group: str) -> int | None:
    prefix = chat_group(0)[:-1]
    return int(group[len(prefix) :]) if group.startswith(prefix) else None


def _pick_subprotocol(scope: dict[str, Any]) -> str | None:
    """Echo the first offered protocol that is not a bearer token (browsers require an echo)."""
    for protocol in scope.get("subprotocols", []):
        if not protocol.startswith("bearer."):
            return str(protocol)
    return None


class ChatConsumer(AsyncWebsocketConsumer):
    """One client socket: joins its user's and chats' groups, runs commands, relays events."""

    user: User
    chat_ids: set[int]
    delivery: OrderedDelivery
    socket_slot: str | None = None  # the channel name holding one of the user's socket slots

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Run the consumer; if the channel layer fails, close with 1013 so the client reconnects."""
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as exc:
            logger.warning("websocket closed: channel layer unavailable: %s", exc)
            try:
                await send({"type": "websocket.close", "code": frames.CLOSE_TRY_AGAIN_LATER})
            except Exception:  # the client may already be gone
                logger.debug("close after layer failure not delivered", exc_info=True)
        finally:
            # Here, not in websocket_disconnect: a connect that failed half-way holds its slot too.
            if self.socket_slot is not None:
                await limits.socket_slot_give_back(conn=self.socket_slot)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Run the message's handler, without Channels' close_old_connections() before each one.

        Channels hops to its single shared sync thread for every event on every socket to close stale
        ORM connections (channels.consumer.AsyncConsumer.dispatch). This consumer never uses the ORM on
        the event loop: every query runs through realtime.threads.in_db_thread, which returns its
        connection when it is done, so the hop would only serialise all sockets' events on one thread.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- lifecycle ---------------------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        """Join the user's and chats' groups, then accept; without an authenticated user, accept and close 4401."""
        self.chat_ids = set()
        self.frame_bucket = TokenBucket(rate=settings.WS_FRAME_RATE_PER_SECOND, burst=settings.WS_FRAME_BURST)
        self.send_bucket = TokenBucket(
            rate=settings.WS_SEND_RATE_PER_SECOND, burst=settings.WS_SEND_RATE_PER_SECOND
        )
        self.rate_error_sent_at = 0.0
        self.expiry_task: asyncio.Task[None] | None = None
        self.closing = False
        # Change cursor per chat reached by resumes: queued change events at or below it are already
        # reflected in what a resume replayed, so they are dropped, and a later resume starts above it.
        self.replayed_version: dict[int, int] = {}
        self.presence_seen: dict[int, bool] = {}  # user id -> last `presence` relayed
        # Until the client's first frame (or WS_RESUME_WAIT_SECONDS), live messages wait, so a `resume`
        # sent right after opening is replayed before them.
        self.delivery = OrderedDelivery(
            send=self.send_frame,
            fetch=self._fetch_messages,
            replay_limit=settings.WS_REPLAY_LIMIT,
            reorder_wait=settings.WS_REORDER_WAIT_SECONDS,
        )
        self.hold_task: asyncio.Task[None] | None = None
        user = self.scope.get("user")
        if user is None:
            # Accept, then close: a browser cannot read a refused handshake, but it can read 4401.
            await self.accept(_pick_subprotocol(self.scope))
            await self.close_with(frames.CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        if await limits.socket_slot_take(user_id=user.pk, conn=self.channel_name):
            self.socket_slot = self.channel_name
        else:
            await self.accept(_pick_subprotocol(self.scope))
            await self.close_with(frames.CLOSE_TOO_MANY_SOCKETS)
            return
        # Join before accepting, so once the client sees the socket open nothing sent to it is missed.
        # The user group first: a chat joined after this point is announced there.
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        # A ban that committed after the middleware authenticated but before the user group was joined
        # reached no socket of this one: read the account again now that any later ban will. In the same
        # trip, each chat's last seq, read before joining its group: a message committed in between is
        # above the cursor, and its broadcast, if missed, is repaired as a gap.
        active, cursors = await in_db_thread(_connect_state)(user)
        if not active:
            await self.accept(_pick_subprotocol(self.scope))
            await self.close_with(frames.CLOSE_ACCOUNT_DISABLED)
            return
        for chat_id, last_seq in cursors.items():
            await self.join_chat(chat_id, last_seq)
        await self.accept(_pick_subprotocol(self.scope))
        self.expire_at(self.scope.get("token_exp"))
        self.hold_task = asyncio.create_task(self._end_hold_later())
        watchdog.watch(self)
        await presence.socket_opened(user_id=user.pk, conn=self.channel_name, chat_ids=self.chat_ids)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Leave every group and stop."""
        if self.expiry_task is not None:
            self.expiry_task.cancel()
        if self.hold_task is not None:
            self.hold_task.cancel()
        if hasattr(self, "delivery"):
            self.delivery.close()
        watchdog.unwatch(self)
        if hasattr(self, "user"):
            await presence.socket_closed(user_id=self.user.pk, conn=self.channel_name, chat_ids=self.chat_ids)
            groups = [user_group(self.user.pk), *(chat_group(chat_id) for chat_id in self.chat_ids)]
            for group in groups:
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except LAYER_ERRORS:
                    break  # the layer is down; its group entries expire on their own
        raise StopConsumer()

    def expire_at(self, unix_time: int | None) -> None:
        """Close with 4401 at `unix_time` (when the socket's credential expires), replacing any earlier plan."""
        if self.expiry_task is not None:
            self.expiry_task.cancel()
        self.expiry_task = asyncio.create_task(self._close_at(unix_time)) if unix_time is not None else None

    async def _close_at(self, unix_time: int) -> None:
        await asyncio.sleep(max(0.0, unix_time - time.time()))
        await self.close_with(frames.CLOSE_UNAUTHENTICATED)

    async def layer_lost(self) -> None:
        """The channel layer is unreachable: close with 1013 so the client reconnects and resumes."""
        await self.close_with(frames.CLOSE_TRY_AGAIN_LATER)

    async def close_with(self, code: int) -> None:
        """Close once with `code`; later frames are not sent."""
        if not self.closing:
            self.closing = True
            await self.close(code=code)

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

    # --- client -> server ----------------------------------------------------------------------

    async def send_frame(self, frame_type: str, payload: dict[str, Any], text: str | None = None) -> None:
        """Send one frame unless the socket is closing; `text` is the frame already encoded, if it is."""
        if not self.closing:
            await self.send(text_data=text if text is not None else frames.encode(frame_type, payload))

    async def send_error(self, message: str, code: str, client_id: Any = None, **extra: Any) -> None:
        """Send an error frame; the socket stays open."""
        await self.send_frame("error", frames.error_payload(message, code, client_id, **extra))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Parse one client frame and run its command."""
        if self.closing:
            return
        raw = text_data if text_data is not None else bytes_data or b""
        size = len(raw.encode()) if isinstance(raw, str) else len(raw)
        if size > settings.WS_MAX_FRAME_BYTES:
            await self.close_with(frames.CLOSE_TOO_BIG)
            return
        # Every frame counts, whatever its type (or none): a flood of anything is refused before parsing.
        wait = self.frame_bucket.take()
        if wait:
            await self._refuse_for_rate(wait)
            return
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: deeply nested JSON within the size limit is malformed input, not a crash.
            await self.send_error(frames.INVALID_FORMAT, "invalid_format")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error(frames.INVALID_FORMAT, "invalid_format")
            return
        handler = self.COMMANDS.get(frame["type"])
        payload = frame.get("payload")
        client_id = payload.get("client_id") if isinstance(payload, dict) else None
        if handler is None:
            await self.send_error(frames.UNKNOWN_TYPE, "unknown_type", client_id)
            return
        if not isinstance(payload, dict):
            await self.send_error(frames.INVALID_PAYLOAD, "invalid_payload", client_id)
            return
        if frame["type"] not in ("resume", "auth"):
            # Any other frame means the client is not about to resume: live messages go out now.
            await self.end_hold()
        try:
            await handler(self, payload)
        except drf_serializers.ValidationError:
            await self.send_error(frames.INVALID_PAYLOAD, "invalid_payload", client_id)
        except DomainError as exc:
            await self.send_frame("error", frames.domain_error_payload(exc, client_id))
        except DB_DOWN as exc:
            logger.warning("websocket command failed: database unavailable: %s", exc)
            await self.send_error("service unavailable", "service_unavailable", client_id)

    @staticmethod
    def _validated(serializer_class: type[drf_serializers.Serializer[Any]], payload: dict[str, Any]) -> Any:
        """The payload validated by the same serializer REST uses; raises ValidationError.

        One instance per serializer class, reused: a new DRF serializer deep-copies its declared fields
        on every instantiation, a tenth of a socket send's CPU. Validation keeps no state on the
        instance, and the event loop runs one frame's validation at a time.
        """
        serializer = _FRAME_VALIDATORS.get(serializer_class)
        if serializer is None:
            serializer = _FRAME_VALIDATORS[serializer_class] = serializer_class()
        return serializer.run_validation(payload)

    async def _refuse_for_rate(self, retry_after: float, client_id: Any = None) -> None:
        """Answer a frame over the socket's frame rate: one error frame per second at most, so a flood
        of refused frames does not become a flood of answers."""
        now = time.monotonic()
        if now - self.rate_error_sent_at >= 1.0:
            self.rate_error_sent_at = now
            await self.send_error(
                frames.RATE_LIMITED, "rate_limited", client_id, retry_after=round(retry_after, 3)
            )

    async def cmd_send_message(self, payload: dict[str, Any]) -> None:
        """`send_message`: store through messaging.services.message_send; the broadcast delivers it.

        The stored message also goes to this socket directly, through the same ordered delivery as the
        broadcast (which is then a duplicate), so it never overtakes another sender's earlier message.
        A repeated send with the same client_id (which broadcasts nothing) still gets its answer.
        """
        wait = self.send_bucket.take()
        if wait:
            await self.send_error(
                frames.RATE_LIMITED, "rate_limited", payload.get("client_id"), retry_after=round(wait, 3)
            )
            return
        data = self._validated(MessageSendSerializer, payload)
        answer = await in_db_thread(_send)(self.user, data)
        if not await self.delivery.offer(answer):
            # At or below the cursor: a repeat (same client_id) of a message this socket already has.
            await self.send_frame("new_message", answer)

    async def cmd_typing(self, payload: dict[str, Any]) -> None:
        """`typing`: tell the chat's other members, at most once per user and chat per interval."""
        chat_id = self._validated(TypingFrameSerializer, payload)["chat_id"]
        if chat_id not in self.chat_ids:
            await self.send_error(frames.NOT_MEMBER, "not_chat_member")
            return
        # cache.add is atomic in Redis, so the limit holds across sockets and processes.
        key = f"typing:{self.user.pk}:{chat_id}"
        if await cache.aadd(key, 1, timeout=settings.WS_TYPING_INTERVAL_SECONDS):
            group = chat_group(chat_id)
            event = {"chat_id": chat_id, "user_id": self.user.pk}
            await self.channel_layer.group_send(group, layer_message(group, "typing", event))

    async def cmd_read(self, payload: dict[str, Any]) -> None:
        """`read`: mark read through chats.services.chat_mark_read (which broadcasts `read`)."""
        data = self._validated(ReadFrameSerializer, payload)
        await in_db_thread(chat_mark_read)(chat_id=data["chat_id"], user=self.user, seq=data["seq"])

    async def cmd_resume(self, payload: dict[str, Any]) -> None:
        """`resume`: replay each chat from the client's cursor, then continue live without duplicates.

        Nothing this socket already sent is sent again (realtime.delivery), so a resume at any time, or
        many, cost at most one replay of what the client lacks. Live messages that arrived before this
        frame (if it is the client's first) were held, and go out after the replay, before `resumed`.
        """
        data = self._validated(ResumeFrameSerializer, payload)
        cursors: dict[int, int] = data["chats"]
        versions: dict[int, int] | None = data.get("versions")
        resumed: dict[str, int] = {}
        resumed_versions: dict[str, int] = {}
        for chat_id, after_seq in cursors.items():
            reached_seq = await self.delivery.resume(chat_id, after_seq) if chat_id in self.chat_ids else None
            if reached_seq is None:
                await self.send_error(frames.NOT_MEMBER, "not_chat_member", chat_id=chat_id)
                continue
            resumed[str(chat_id)] = reached_seq
            if versions is not None and chat_id in versions:
                reached = await self.replay_changes(chat_id, versions[chat_id], up_to_seq=after_seq)
                if reached is not None:
                    resumed_versions[str(chat_id)] = reached
        # Live messages that waited for this replay go out now, after it and before `resumed`, whose
        # cursors then include them.
        await self.end_hold()
        for key in resumed:
            resumed[key] = self.delivery.cursor(int(key)) or resumed[key]
        answer: dict[str, Any] = {"chats": resumed}
        if versions is not None:
            answer["versions"] = resumed_versions
        await self.send_frame("resumed", answer)

    async def _fetch_messages(self, chat_id: int, after_seq: int, through_seq: int) -> list[dict[str, Any]]:
        """OrderedDelivery's window of a chat from the database (replay limit + 1 at most)."""
        return await in_db_thread(_replay_payloads)(
            self.user, chat_id, after_seq, through_seq, settings.WS_REPLAY_LIMIT + 1
        )

    # --- edits, deletions ---

    async def cmd_edit_message(self, payload: dict[str, Any]) -> None:
        """`edit_message`: messaging.services.message_edit; its `message_updated` broadcast answers."""
        data = self._validated(EditMessageFrameSerializer, payload)
        await in_db_thread(message_edit)(
            message_id=data["message_id"], editor=self.user, content=data["content"]
        )

    async def cmd_delete_message(self, payload: dict[str, Any]) -> None:
        """`delete_message`: messaging.services.message_delete; its `message_deleted` broadcast answers."""
        data = self._validated(DeleteMessageFrameSerializer, payload)
        await in_db_thread(message_delete)(message_id=data["message_id"], actor=self.user)

    async def cmd_auth(self, payload: dict[str, Any]) -> None:
        """`auth`: a fresh access token of this socket's user moves its expiry to the token's.

        Answers `authenticated` with the new expiry; any other token gets an `invalid_token` error
        frame and the socket keeps its old expiry.
        """
        token = self._validated(AuthFrameSerializer, payload)["token"]
        expires = await reauthenticate(token=token, user_id=self.user.pk)
        self.expire_at(expires)
        await self.send_frame(
            "authenticated", {"expires_at": iso_datetime(datetime.fromtimestamp(expires, UTC))}
        )

    async def replay_changes(self, chat_id: int, since_version: int, *, up_to_seq: int) -> int | None:
        """Replay changes after `since_version` to messages with seq <= up_to_seq; the cursor reached.

        Messages after up_to_seq were just replayed whole as new_message. Too many changes for a
        socket: `resync_required` and None (the client pages GET /api/messages/changes). Changes an
        earlier resume on this socket already replayed are not sent again.
        """
        limit = settings.WS_REPLAY_LIMIT
        since_version = max(since_version, self.replayed_version.get(chat_id, 0))
        changes = await in_db_thread(_change_frames)(self.user, chat_id, since_version, limit + 1)
        if len(changes) > limit:
            await self.send_frame("resync_required", {"chat_id": chat_id})
            return None
        reached = max([since_version, *(payload["version"] for _, payload in changes)])
        for frame_type, payload in changes:
            if payload["seq"] <= up_to_seq:
                await self.send_frame(frame_type, payload)
        self.replayed_version[chat_id] = reached
        return reached

    COMMANDS: dict[str, Any] = {
        "send_message": cmd_send_message,
        "typing": cmd_typing,
        "read": cmd_read,
        "resume": cmd_resume,
        "edit_message": cmd_edit_message,
        "delete_message": cmd_delete_message,
        "auth": cmd_auth,
    }

    # --- hold ---------------------------------------------------------------------------------

    async def _end_hold_later(self) -> None:
        await asyncio.sleep(settings.WS_RESUME_WAIT_SECONDS)
        await self.end_hold()

    async def end_hold(self) -> None:
        """Stop holding live messages for a possible resume; send what waited, oldest first.

        Runs at the client's first frame (after it, for `resume`) or WS_RESUME_WAIT_SECONDS after
        the socket opened.
        """
        await self.delivery.release()
        if self.hold_task is not None and self.hold_task is not asyncio.current_task():
            self.hold_task.cancel()

    # --- channel layer -> client ------------------------------------------------------------------

    async def chat_event(self, message: dict[str, Any]) -> None:
        """Relay one event from the user's or a chat's group, keeping subscriptions in step."""
        event, payload = message["event"], message["payload"]
        text: str | None = message.get("frame")
        me = self.user.pk
        if event == "account_disabled":
            await self.close_with(frames.CLOSE_ACCOUNT_DISABLED)
            return
        if event == "chat_created":
            # A new chat: its messages start at 1, and any sent before this socket joined are repaired.
            if payload["id"] not in self.chat_ids and await self.join_chat(payload["id"], 0):
                await self.send_frame(event, payload, text)
            return
        if event == "member_added" and payload["user_id"] == me:
            if payload["chat"]["id"] not in self.chat_ids and await self.join_chat(payload["chat"]["id"]):
                await self.send_frame(event, payload, text)
            return
        chat_id = _chat_id_of(message.get("group", ""))
        if chat_id is None:
            chat_id = payload.get("chat_id")
        # A chat's events reach only current members, even if they were queued before a removal.
        if chat_id not in self.chat_ids:
            return
        if event in CHANGE_EVENTS and payload["version"] <= self.replayed_version.get(chat_id, 0):
            return  # already reflected in what resume replayed
        if event == "new_message":
            await self.delivery.offer(payload, text)
        elif event == "typing" and payload["user_id"] == me:
            return
        elif event == presence.EVENT:
            await self.relay_presence(payload, text)
        else:
            await self.send_frame(event, payload, text)
        if event == "member_removed" and payload["user_id"] == me:
            await self.leave_chat(chat_id)

    async def relay_presence(self, payload: dict[str, Any], text: str | None = None) -> None:
        """Relay another user's `presence` change once: it arrives through every chat shared with them."""
        user_id, online = payload["user_id"], payload["online"]
        if user_id == self.user.pk or self.presence_seen.get(user_id) is online:
            return
        self.presence_seen[user_id] = online
        await self.send_frame(presence.EVENT, payload, text)


def _send(user: User, data: dict[str, Any]) -> dict[str, Any]:
    message = message_send(
        chat_id=data["chat_id"],
        sender=user,
        content=data["content"],
        client_id=data.get("client_id"),
        reply_to=data.get("reply_to"),
        attachment_ids=data.get("attachment_ids"),
    )
    return message_payload(message)


# Events that change an existing message; each carries the message's new `version`.
CHANGE_EVENTS = frozenset({"message_updated", "message_deleted", "reaction_added", "reaction_removed"})


def _change_frames(
    user: User, chat_id: int, since_version: int, limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """(frame type, payload) for each change after since_version: tombstones as message_deleted."""
    return [
        message_change_event(m)
        for m in messages_changed(
            chat_id=chat_id,
            user=user,
            since_version=since_version,
            limit=limit,
            mark_mine=False,
            max_limit=limit,
        )
    ]


def _connect_state(user: User) -> tuple[bool, dict[int, int]]:
    """(is the account still active, {chat id: last seq}) for a socket about to open."""
    return user_is_active(user_id=user.pk), chat_cursors_for_user(user=user)


def _replay_payloads(
    user: User, chat_id: int, after_seq: int, through_seq: int, limit: int
) -> list[dict[str, Any]]:
    return [
        message_payload(m)
        for m in messages_after(
            chat_id=chat_id, user=user, after_seq=after_seq, through_seq=through_seq, limit=limit
        )
    ]


class TokenBucket:
    """A per-socket rate: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, *, rate: float, burst: float):
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.tokens = self.burst
        self.updated = time.monotonic()

    def take(self) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there will be."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else 60.0
