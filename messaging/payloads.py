"""Message -> JSON-ready dict: the one shape used by REST responses and WebSocket frames.

Each payload function has a documentation serializer beside it, so the OpenAPI schema and the
shape change together (schemathesis checks every response against it).
"""

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from chatproject.fields import iso_datetime
from messaging.attachments.uploads import EXTENSIONS
from messaging.models import CLIENT_ID_MAX_LENGTH, REACTION_EMOJI_MAX_LENGTH, Attachment, Message
from realtime.protocol import ServerEvent


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


class AttachmentPayloadSerializer(serializers.Serializer[Any]):
    """An uploaded file (documentation of attachment_payload)."""

    id = serializers.IntegerField()
    filename = serializers.CharField(help_text="The uploader's file name, cleaned; display text only.")
    size = serializers.IntegerField(min_value=1, help_text="Bytes.")
    content_type = serializers.ChoiceField(
        choices=list(EXTENSIONS), help_text="Sniffed from the content, not taken from the client."
    )
    url = serializers.CharField(
        help_text="Path to GET the file (with the bearer token): members of the chat it was sent in, "
        "or its uploader before it is sent."
    )


class ReactionCountPayloadSerializer(serializers.Serializer[Any]):
    """One emoji on a message and how many users chose it (documentation of reactions_payload)."""

    emoji = serializers.CharField(max_length=REACTION_EMOJI_MAX_LENGTH)
    count = serializers.IntegerField(min_value=1)
    me = serializers.BooleanField(
        required=False,
        help_text="REST responses only: whether the caller is one of them (broadcasts, shared by all "
        "members, leave it out).",
    )


class MessagePayloadSerializer(serializers.Serializer[Any]):
    """A message (documentation of message_payload)."""

    id = serializers.IntegerField()
    chat_id = serializers.IntegerField()
    sender_id = serializers.IntegerField(
        allow_null=True, help_text="Null for a message whose sender's account was deleted (a tombstone)."
    )
    content = serializers.CharField(allow_blank=True, help_text="Empty for a deleted message.")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    seq = serializers.IntegerField(min_value=1, help_text="Gap-free position in the chat: 1, 2, 3, ...")
    reply_to = serializers.IntegerField(allow_null=True, help_text="Id of the message this one answers.")
    client_id = serializers.CharField(allow_null=True, max_length=CLIENT_ID_MAX_LENGTH)
    # --- edits, deletions, reactions ---
    deleted = serializers.BooleanField(
        help_text="A tombstone: the message was deleted; it keeps its id and seq, content is empty."
    )
    version = serializers.IntegerField(
        min_value=0,
        help_text="The chat's change counter at this message's latest edit, deletion or reaction "
        "change (0: never changed). Resume changes with GET /api/messages/changes?since_version=.",
    )
    reactions = ReactionCountPayloadSerializer(many=True)
    # --- attachments ---
    attachments = AttachmentPayloadSerializer(many=True, help_text="Files sent with the message; [] if none.")


class MessageListPayloadSerializer(serializers.Serializer[Any]):
    """{"messages": [...]} (documentation of message_list_payload)."""

    messages = MessagePayloadSerializer(many=True)


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


class MessageChangesPayloadSerializer(serializers.Serializer[Any]):
    """{"messages": [...], "version": n} (documentation of message_changes_payload)."""

    messages = MessagePayloadSerializer(many=True)
    version = serializers.IntegerField(
        min_value=0, help_text="Pass as since_version next time; equals since_version when nothing changed."
    )
