"""What a client may ask over the socket: frame parsing and validation, per-socket rates, one method per command.

`Commands` belongs to one socket and reaches it only through `SocketState`; each command validates
its payload with the serializer REST uses and calls the same service, so both transports agree.
"""

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers as drf_serializers

from accounts.models import User
from chatproject import metrics
from chatproject.conf import chat_settings
from chatproject.errors import DATABASE_ERRORS, DatabaseUnavailableError, DomainError
from chatproject.fields import iso_datetime
from chats.errors import NotChatMemberError
from chats.services import chat_mark_read
from messaging.services import message_delete, message_edit, message_send
from realtime import selectors
from realtime.handshake.auth import reauthenticate
from realtime.protocol import frames
from realtime.protocol.event_types import ClientCommand, Reply, ServerEvent
from realtime.protocol.serializers import (
    AuthFrameSerializer,
    DeleteMessageFrameSerializer,
    EditMessageFrameSerializer,
    MessageSendSerializer,
    ReadFrameSerializer,
    ResumeFrameSerializer,
    TypingFrameSerializer,
)
from realtime.socket.rates import SocketRates, frame_client_id, retry_after
from realtime.socket.state import SocketState
from realtime.socket.typing_rule import typing_announce
from realtime.threads import in_db_thread

logger = logging.getLogger(__name__)

# validated()'s serializer instances, one per class.
_FRAME_VALIDATORS: dict[type[drf_serializers.Serializer[Any]], drf_serializers.Serializer[Any]] = {}


def validated(serializer_class: type[drf_serializers.Serializer[Any]], payload: dict[str, Any]) -> Any:
    """The payload validated by the same serializer REST uses; raises ValidationError.

    One instance per serializer class, reused: a new DRF serializer deep-copies its declared fields
    on every instantiation, a tenth of a socket send's CPU. Validation keeps no state on the
    instance, and the event loop runs one frame's validation at a time.
    """
    serializer = _FRAME_VALIDATORS.get(serializer_class)
    if serializer is None:
        serializer = _FRAME_VALIDATORS[serializer_class] = serializer_class()
    return serializer.run_validation(payload)


class Commands:
    """One socket's client commands and the rates they spend."""

    def __init__(self, socket: SocketState):
        self.socket = socket
        self.rates = SocketRates()
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            ClientCommand.SEND_MESSAGE: self.send_message,
            ClientCommand.TYPING: self.typing,
            ClientCommand.READ: self.read,
            ClientCommand.RESUME: self.resume,
            ClientCommand.EDIT_MESSAGE: self.edit_message,
            ClientCommand.DELETE_MESSAGE: self.delete_message,
            ClientCommand.AUTH: self.auth,
        }

    async def send_error(self, message: str, code: str, client_id: Any = None, **extra: Any) -> None:
        """Send an error frame; the socket stays open."""
        await self.socket.send_frame(Reply.ERROR, frames.error_payload(message, code, client_id, **extra))

    async def send_domain_error(self, exc: DomainError, client_id: Any = None) -> None:
        """Send `exc` as an error frame, in the socket's words for it; the socket stays open."""
        await self.socket.send_frame(Reply.ERROR, frames.domain_error_payload(exc, client_id))

    async def receive(self, raw: str | bytes) -> None:
        """Parse one client frame and run its command; every failure is answered with an error frame."""
        if self.socket.closing:
            return
        size = len(raw.encode()) if isinstance(raw, str) else len(raw)
        if size > chat_settings.WS_MAX_FRAME_BYTES:
            await self.socket.close_with(frames.CLOSE_TOO_BIG)
            return
        # Every frame counts, whatever its type (or none): a flood of anything is refused before it runs.
        wait = self.rates.frames.take()
        if wait:
            await self._refuse_for_rate(raw, wait)
            return
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: deeply nested JSON within the size limit is malformed input, not a crash.
            metrics.frame_received(None)
            await self.send_error(frames.INVALID_FORMAT, "invalid_format")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            metrics.frame_received(None)
            await self.send_error(frames.INVALID_FORMAT, "invalid_format")
            return
        metrics.frame_received(frame["type"])
        handler = self.handlers.get(frame["type"])
        payload = frame.get("payload")
        client_id = payload.get("client_id") if isinstance(payload, dict) else None
        if handler is None:
            await self.send_error(frames.UNKNOWN_TYPE, "unknown_type", client_id)
            return
        if not isinstance(payload, dict):
            await self.send_error(frames.INVALID_PAYLOAD, "invalid_payload", client_id)
            return
        if frame["type"] not in (ClientCommand.RESUME, ClientCommand.AUTH):
            # Any other frame means the client is not about to resume: live messages go out now.
            await self.socket.delivery.release()
        try:
            await handler(payload)
        except drf_serializers.ValidationError:
            await self.send_error(frames.INVALID_PAYLOAD, "invalid_payload", client_id)
        except DomainError as exc:
            if exc.status_code == 429:
                metrics.throttled("websocket")
            await self.send_domain_error(exc, client_id)
        except DATABASE_ERRORS as exc:
            logger.warning("websocket command failed: database unavailable: %s", exc)
            await self.send_domain_error(DatabaseUnavailableError(), client_id)

    async def _refuse_for_rate(self, raw: str | bytes, wait: float) -> None:
        """Answer a frame over the socket's frame rate (realtime.socket.rates): its own error when it names a
        client_id, else one shared error a second; past WS_REFUSED_FRAME_BURST refusals, close with 1008."""
        metrics.throttled("websocket")
        if not self.rates.refusal_answerable():
            await self.socket.close_with(frames.CLOSE_POLICY_VIOLATION)
            return
        client_id = frame_client_id(raw)
        if client_id is None and not self.rates.shared_answer_due():
            return
        await self.send_error(frames.RATE_LIMITED, "rate_limited", client_id, retry_after=retry_after(wait))

    async def send_message(self, payload: dict[str, Any]) -> None:
        """`send_message`: store through messaging.services.message_send; the broadcast delivers it.

        The stored message also goes to this socket directly, through the same ordered delivery as the
        broadcast (which is then a duplicate), so it never overtakes another sender's earlier message.
        A repeated send with the same client_id (which broadcasts nothing) still gets its answer.
        """
        wait = self.rates.sends.take()
        if wait:
            metrics.throttled("websocket")
            await self.send_error(
                frames.RATE_LIMITED, "rate_limited", payload.get("client_id"), retry_after=retry_after(wait)
            )
            return
        data = validated(MessageSendSerializer, payload)
        answer, repeated = await in_db_thread(_message_send_answer)(self.socket.user, data)
        if not await self.socket.delivery.offer(answer) and repeated:
            # At or below the cursor: a repeat (same client_id) of a message the client asks about again.
            # A new message below the cursor was already sent to this socket, by its broadcast.
            await self.socket.send_frame(ServerEvent.NEW_MESSAGE, answer)

    async def typing(self, payload: dict[str, Any]) -> None:
        """`typing`: realtime.socket.typing_rule.typing_announce (members only, once per user and chat per interval)."""
        chat_id = validated(TypingFrameSerializer, payload)["chat_id"]
        await typing_announce(user_id=self.socket.user.pk, chat_id=chat_id, member_of=self.socket.chat_ids)

    async def read(self, payload: dict[str, Any]) -> None:
        """`read`: mark read through chats.services.chat_mark_read (which broadcasts `read`)."""
        data = validated(ReadFrameSerializer, payload)
        await in_db_thread(chat_mark_read)(chat_id=data["chat_id"], user=self.socket.user, seq=data["seq"])

    async def resume(self, payload: dict[str, Any]) -> None:
        """`resume`: replay each chat from the client's cursor, then continue live without duplicates.

        Nothing this socket already sent is sent again (realtime.socket.delivery), so a resume at any time, or
        many, cost at most one replay of what the client lacks. Live messages that arrived before this
        frame (if it is the client's first) were held, and go out after the replay, before `resumed`.
        """
        socket = self.socket
        data = validated(ResumeFrameSerializer, payload)
        metrics.resumed()
        cursors: dict[int, int] = data["chats"]
        versions: dict[int, int] | None = data.get("versions")
        resumed: dict[str, int] = {}
        resumed_versions: dict[str, int] = {}
        for chat_id, after_seq in cursors.items():
            reached_seq = (
                await socket.delivery.resume(chat_id, after_seq) if chat_id in socket.chat_ids else None
            )
            if reached_seq is None:
                refusal = NotChatMemberError()
                refusal.extra["chat_id"] = chat_id
                await self.send_domain_error(refusal)
                continue
            resumed[str(chat_id)] = reached_seq
            if versions is not None and chat_id in versions:
                reached = await self.replay_changes(chat_id, versions[chat_id], up_to_seq=after_seq)
                if reached is not None:
                    resumed_versions[str(chat_id)] = reached
        # Live messages that waited for this replay go out now, after it and before `resumed`, whose
        # cursors then include them.
        await socket.delivery.release()
        for key in resumed:
            resumed[key] = socket.delivery.cursor(int(key)) or resumed[key]
        answer: dict[str, Any] = {"chats": resumed}
        if versions is not None:
            answer["versions"] = resumed_versions
        await socket.send_frame(Reply.RESUMED, answer)

    async def replay_changes(self, chat_id: int, since_version: int, *, up_to_seq: int) -> int | None:
        """Replay changes after `since_version` to messages with seq <= up_to_seq; the cursor reached.

        Messages after up_to_seq were just replayed whole as new_message. Too many changes for a
        socket: `resync_required` and None (the client pages GET /api/messages/changes). Changes an
        earlier resume on this socket already replayed are not sent again.
        """
        socket = self.socket
        limit = chat_settings.WS_REPLAY_LIMIT
        since_version = max(since_version, socket.replayed_version.get(chat_id, 0))
        changes = await in_db_thread(selectors.change_frames)(socket.user, chat_id, since_version, limit + 1)
        if len(changes) > limit:
            await socket.send_frame(Reply.RESYNC_REQUIRED, {"chat_id": chat_id})
            return None
        reached = max([since_version, *(payload["version"] for _, payload in changes)])
        for event, payload in changes:
            if payload["seq"] <= up_to_seq:
                await socket.send_frame(event, payload)
        socket.replayed_version[chat_id] = reached
        return reached

    async def edit_message(self, payload: dict[str, Any]) -> None:
        """`edit_message`: messaging.services.message_edit; its `message_updated` broadcast answers."""
        data = validated(EditMessageFrameSerializer, payload)
        await in_db_thread(message_edit)(
            message_id=data["message_id"], editor=self.socket.user, content=data["content"]
        )

    async def delete_message(self, payload: dict[str, Any]) -> None:
        """`delete_message`: messaging.services.message_delete; its `message_deleted` broadcast answers."""
        data = validated(DeleteMessageFrameSerializer, payload)
        await in_db_thread(message_delete)(message_id=data["message_id"], actor=self.socket.user)

    async def auth(self, payload: dict[str, Any]) -> None:
        """`auth`: a fresh access token of this socket's user moves its expiry to the token's.

        Answers `authenticated` with the new expiry; any other token gets an `invalid_token` error
        frame and the socket keeps its old expiry.
        """
        token = validated(AuthFrameSerializer, payload)["token"]
        expires = await reauthenticate(token=token, user_id=self.socket.user.pk)
        self.socket.expiry.at(expires)
        await self.socket.send_frame(
            Reply.AUTHENTICATED, {"expires_at": iso_datetime(datetime.fromtimestamp(expires, UTC))}
        )


def _message_send_answer(user: User, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Run message_send for a validated send_message payload: (the payload its broadcast carries, the
    socket's answer too; whether it is a repeat of an earlier send with the same client_id)."""
    message = message_send(
        chat_id=data["chat_id"],
        sender=user,
        content=data["content"],
        client_id=data.get("client_id"),
        reply_to=data.get("reply_to"),
        attachment_ids=data.get("attachment_ids"),
    )
    return message.send_payload, message.repeated
