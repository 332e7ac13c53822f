"""Documentation serializers of messaging.payloads: each shape a payload function builds, for the schema."""

from typing import Any

from rest_framework import serializers

from messaging.attachments.uploads import EXTENSIONS
from messaging.models import CLIENT_ID_MAX_LENGTH, REACTION_EMOJI_MAX_LENGTH


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


class MessageChangesPayloadSerializer(serializers.Serializer[Any]):
    """{"messages": [...], "version": n} (documentation of message_changes_payload)."""

    messages = MessagePayloadSerializer(many=True)
    version = serializers.IntegerField(
        min_value=0, help_text="Pass as since_version next time; equals since_version when nothing changed."
    )
