"""Message -> JSON-ready dict: the one shape used by REST responses and WebSocket frames.

messaging.openapi.payloads documents each shape for the OpenAPI schema (schemathesis checks every
response against it).
"""

from typing import Any

from django.urls import reverse

from chatproject.fields import iso_datetime
from messaging.models import Attachment, Message
from realtime.protocol.event_types import ServerEvent


def message_payload(message: Message) -> dict[str, Any]:
    """The seed's message shape plus seq, edited_at, reply_to and client_id.

    A pure function of the row and its loaded details (messages_load_details, or the service that
    returned it): it never queries.
    """
    return {
        "id": message.pk,
        "chat_id": message.chat_id,
        "sender_id": message.sender_id,
        "content": message.content,
        "created_at": iso_datetime(message.created_at),
        "edited_at": iso_datetime(message.edited_at),
        "seq": message.seq,
        "reply_to": message.reply_to_id,
        "client_id": message.client_id,
        # --- edits, deletions, reactions ---
        "deleted": message.deleted_at is not None,
        "version": message.version,
        "reactions": reactions_payload(message),
        # --- attachments ---
        "attachments": [attachment_payload(attachment) for attachment in message.attachment_list],
    }


def message_list_payload(messages: list[Message]) -> dict[str, Any]:
    """GET /api/messages/get: {"messages": [...]} in the order given."""
    return {"messages": [message_payload(message) for message in messages]}


# --- attachments ---------------------------------------------------------------------------------


def attachment_payload(attachment: Attachment) -> dict[str, Any]:
    """An uploaded file: {id, filename, size, content_type, url}; `url` is the download path."""
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": reverse("attachment-download", args=[attachment.pk]),
    }


# --- edits, deletions, reactions -------------------------------------------------------------------


def reactions_payload(message: Message) -> list[dict[str, Any]]:
    """[{"emoji", "count"[, "me"]}], first-chosen emoji first; `me` only when counted for a viewer."""
    return [
        {"emoji": item.emoji, "count": item.count, **({} if item.me is None else {"me": item.me})}
        for item in message.reaction_counts
    ]


def message_deleted_payload(message: Message) -> dict[str, Any]:
    """`message_deleted` event: the tombstone's id and chat, plus its seq and change version."""
    return {"id": message.pk, "chat_id": message.chat_id, "seq": message.seq, "version": message.version}


def message_change_event(message: Message) -> tuple[ServerEvent, dict[str, Any]]:
    """(event, payload) that brings a socket up to date with a message's latest change: tombstones as `message_deleted`."""
    if message.deleted_at is not None:
        return ServerEvent.MESSAGE_DELETED, message_deleted_payload(message)
    return ServerEvent.MESSAGE_UPDATED, message_payload(message)


def reaction_event_payload(message: Message, *, user_id: int, emoji: str, count: int) -> dict[str, Any]:
    """`reaction_added` / `reaction_removed` event: who changed which emoji, and its new count."""
    return {
        "message_id": message.pk,
        "chat_id": message.chat_id,
        "emoji": emoji,
        "user_id": user_id,
        "count": count,
        "version": message.version,
    }


def message_changes_payload(messages: list[Message], *, version: int) -> dict[str, Any]:
    """GET /api/messages/changes: changed messages in change order, and the cursor to resume from."""
    return {"messages": [message_payload(message) for message in messages], "version": version}
