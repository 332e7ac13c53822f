"""One open chat socket's state, declared once.

ChatConsumer (realtime.socket.consumer) inherits it and sets it while the socket connects; EventRelay
(realtime.socket.relay, one handler per layer event) and Commands (realtime.socket.commands, one method per
client frame) read and change it through this type, and call the socket operations declared here.
"""

import asyncio
from typing import Any

from accounts.models import User
from chatproject import metrics
from chatproject.server.wire import SocketWire
from realtime.presence.service import SeenPresence
from realtime.socket.delivery import OrderedDelivery
from realtime.socket.expiry import CredentialExpiry


class SocketState:
    """What a chat socket knows about itself, and the operations its relay and commands need (ChatConsumer's)."""

    scope: dict[str, Any]
    user: User  # the authenticated user; unset on a handshake refused without one
    chat_ids: set[int]  # the chats whose groups the socket joined
    delivery: OrderedDelivery  # new messages: each seq once, in order
    expiry: CredentialExpiry  # when the socket's credential expires (4401), moved by `auth`
    presence_seen: SeenPresence  # presence news already sent, so each is sent once
    # Per chat, the change version a resume replayed up to: queued changes at or below it are dropped.
    replayed_version: dict[int, int]
    closing: bool  # closing or closed: no more frames are sent
    close_code: int | None = None  # the code this side closed with, if it did
    registered = False  # recorded in the socket registry (realtime.registry): forgotten when it ends
    socket_record: metrics.SocketRecord | None = None  # its lifecycle in the metrics and the log
    wire: SocketWire | None = None  # the socket's raw output for the local fan-out, if the server offers it
    # Layer messages other than new_message queued for this socket and not yet handled (realtime.layer.pubsub
    # counts them in, the consumer's dispatch counts them out): while any is, the local fan-out queues,
    # so nothing overtakes a removal, a ban or a session's end. New messages need no such barrier among
    # themselves: the delivery's cursor keeps them in order.
    barriers = 0
    closing_task: "asyncio.Future[None] | None" = None  # the close started by fell_behind()

    async def send_frame(self, frame_type: str, payload: dict[str, Any], text: str | None = None) -> None:
        """Send one frame unless the socket is closing; `text` is the frame already encoded, if it is."""
        raise NotImplementedError

    async def close_with(self, code: int) -> None:
        """Close once with `code`; later frames are not sent."""
        raise NotImplementedError

    async def join_chat(self, chat_id: int, last_seq: int | None = None) -> bool:
        """Follow a chat's group from `last_seq`; False if the user is no longer a member."""
        raise NotImplementedError

    async def leave_chat(self, chat_id: int) -> None:
        """Stop following a chat's group."""
        raise NotImplementedError
