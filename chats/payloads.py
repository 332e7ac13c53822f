"""Chat -> JSON-ready dict: the one shape used by REST responses and WebSocket frames.

chats.openapi.payloads documents each shape for the OpenAPI schema (schemathesis checks every
response against it).
"""

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from chatproject.fields import iso_datetime
from chats.models import Chat, ChatMember
from messaging.payloads import message_payload

if TYPE_CHECKING:
    from chats.inbox import ChatListEntry


def chat_payload(chat: Chat) -> dict[str, Any]:
    """The seed's chat shape plus `name`: {id, type, name, created_at}."""
    return {
        "id": chat.pk,
        "type": chat.type,
        "name": chat.name,
        "created_at": iso_datetime(chat.created_at),
    }


def member_payload(member: ChatMember, *, online: bool) -> dict[str, Any]:
    """One member of a chat: {id, username, role, online, last_read_seq} (member.user must be loaded)."""
    return {
        "id": member.user_id,
        "username": member.user.username,
        "role": member.role,
        "online": online,
        "last_read_seq": member.last_read_seq,
    }


def chat_detail_payload(
    chat: Chat, members: Iterable[ChatMember], *, online_ids: Collection[int]
) -> dict[str, Any]:
    """GET /api/chats/{id}: the chat with its members; `online_ids` are the users online now."""
    return {
        **chat_payload(chat),
        "members": [member_payload(member, online=member.user_id in online_ids) for member in members],
    }


def chat_list_payload(entries: Iterable["ChatListEntry"]) -> dict[str, Any]:
    """GET /api/chats: {"chats": [...]}, each chat with its newest message (or null) and unread count."""
    return {
        "chats": [
            {
                **chat_payload(entry.chat),
                "last_message": message_payload(entry.last_message) if entry.last_message else None,
                "unread_count": entry.unread_count,
            }
            for entry in entries
        ]
    }


def read_state_payload(*, chat_id: int, last_read_seq: int, unread_count: int) -> dict[str, Any]:
    """POST /api/chats/{id}/read: where the caller's read marker now is."""
    return {"chat_id": chat_id, "last_read_seq": last_read_seq, "unread_count": unread_count}


def read_event_payload(*, chat_id: int, user_id: int, seq: int) -> dict[str, Any]:
    """The `read` event: a member has read up to `seq`."""
    return {"chat_id": chat_id, "user_id": user_id, "seq": seq}
