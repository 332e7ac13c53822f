"""The socket protocol: every server event with its payload shape and route, the replies, the client commands.

Producers (the domain services, typing, presence) name events by `ServerEvent`, never by a string;
the consumer has one handler per event (`layer_type`); realtime/tests/test_protocol.py checks this list
against asyncapi.yaml. Payloads built by a domain payload function keep that function as their one
shape (noted per event); the small ones built inline are TypedDicts here.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, TypedDict

# Layer messages for an event have type f"{LAYER_TYPE_PREFIX}.{event}": Channels routes them to the
# consumer method named `chat_<event>` (channels.consumer.get_handler_name).
LAYER_TYPE_PREFIX: Final = "chat"


class ServerEvent(StrEnum):
    """An event a producer broadcasts; all but the control events (`frame=False`) reach clients as a frame."""

    NEW_MESSAGE = "new_message"
    MESSAGE_UPDATED = "message_updated"
    MESSAGE_DELETED = "message_deleted"
    REACTION_ADDED = "reaction_added"
    REACTION_REMOVED = "reaction_removed"
    TYPING = "typing"
    READ = "read"
    CHAT_CREATED = "chat_created"
    CHAT_UPDATED = "chat_updated"
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    MEMBER_UPDATED = "member_updated"
    PRESENCE = "presence"
    ACCOUNT_DISABLED = "account_disabled"
    SESSIONS_REVOKED = "sessions_revoked"
    SESSION_ENDED = "session_ended"


class ClientCommand(StrEnum):
    """A frame type a client may send (realtime.socket.commands has one method per command)."""

    SEND_MESSAGE = "send_message"
    TYPING = "typing"
    READ = "read"
    RESUME = "resume"
    EDIT_MESSAGE = "edit_message"
    DELETE_MESSAGE = "delete_message"
    AUTH = "auth"


class Reply(StrEnum):
    """A frame one socket sends on its own (an answer or a delivery notice), never broadcast."""

    ERROR = "error"
    RESUMED = "resumed"
    AUTHENTICATED = "authenticated"
    RESYNC_REQUIRED = "resync_required"


# Shapes built by a domain payload function: that function is the one definition.
MessagePayload = dict[str, Any]  # messaging.payloads.message_payload (AsyncAPI Message)
MessageDeletedPayload = dict[str, Any]  # messaging.payloads.message_deleted_payload
ReactionPayload = dict[str, Any]  # messaging.payloads.reaction_event_payload
ChatPayload = dict[str, Any]  # chats.payloads.chat_payload (AsyncAPI Chat)
ReadPayload = dict[str, Any]  # chats.payloads.read_event_payload


class TypingPayload(TypedDict):
    """`typing`: a member is typing in a chat."""

    chat_id: int
    user_id: int


class MemberAddedPayload(TypedDict):
    """`member_added`: the chat, and who joined it."""

    chat: ChatPayload
    user_id: int


class MemberRemovedPayload(TypedDict):
    """`member_removed`: who left (or was removed from) the chat."""

    chat_id: int
    user_id: int


class MemberUpdatedPayload(TypedDict):
    """`member_updated`: a member's new role."""

    chat_id: int
    user_id: int
    role: str


class PresencePayload(TypedDict):
    """`presence`: a user's first socket opened (online) or last one closed (offline)."""

    user_id: int
    online: bool


class AccountDisabledPayload(TypedDict):
    """`account_disabled`: never a frame; the user's sockets close with 4403."""

    user_id: int


class SessionsRevokedPayload(TypedDict):
    """`sessions_revoked`: never a frame; the user's sockets of other sessions than `keep_session` close with 4410."""

    user_id: int
    keep_session: str


class SessionEndedPayload(TypedDict):
    """`session_ended`: never a frame; the user's sockets of `session` (logged out, or its refresh token
    reused) close with 4410."""

    user_id: int
    session: str


class ChatIdPayload(TypedDict):
    """`resync_required`: too much to replay over the socket; page this chat over REST."""

    chat_id: int


@dataclass(frozen=True)
class EventSpec:
    """One server event: its payload shape and where it is sent."""

    event: ServerEvent
    payload: object  # the TypedDict or alias above
    # Also sent to the user group of payload["user_id"], after the chat group: that user's sockets
    # are not (or no longer) in the chat group, and join or leave it on this event.
    to_subject_user: bool = False
    # Reaches the client as a frame; False for control events the consumer acts on.
    frame: bool = True


EVENTS: Final[dict[ServerEvent, EventSpec]] = {
    spec.event: spec
    for spec in (
        EventSpec(ServerEvent.NEW_MESSAGE, MessagePayload),
        EventSpec(ServerEvent.MESSAGE_UPDATED, MessagePayload),
        EventSpec(ServerEvent.MESSAGE_DELETED, MessageDeletedPayload),
        EventSpec(ServerEvent.REACTION_ADDED, ReactionPayload),
        EventSpec(ServerEvent.REACTION_REMOVED, ReactionPayload),
        EventSpec(ServerEvent.TYPING, TypingPayload),
        EventSpec(ServerEvent.READ, ReadPayload),
        EventSpec(ServerEvent.CHAT_CREATED, ChatPayload),
        EventSpec(ServerEvent.CHAT_UPDATED, ChatPayload),
        EventSpec(ServerEvent.MEMBER_ADDED, MemberAddedPayload, to_subject_user=True),
        EventSpec(ServerEvent.MEMBER_REMOVED, MemberRemovedPayload, to_subject_user=True),
        EventSpec(ServerEvent.MEMBER_UPDATED, MemberUpdatedPayload),
        EventSpec(ServerEvent.PRESENCE, PresencePayload),
        EventSpec(ServerEvent.ACCOUNT_DISABLED, AccountDisabledPayload, frame=False),
        EventSpec(ServerEvent.SESSIONS_REVOKED, SessionsRevokedPayload, frame=False),
        EventSpec(ServerEvent.SESSION_ENDED, SessionEndedPayload, frame=False),
    )
}


def layer_type(event: ServerEvent) -> str:
    """The channel-layer message type of an event (the consumer's handler is its name with `_`)."""
    return f"{LAYER_TYPE_PREFIX}.{event.value}"
