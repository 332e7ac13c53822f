"""Messages."""

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.files.storage import Storage
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from chats.models import Chat

if TYPE_CHECKING:
    from messaging.selectors.reactions import ReactionCount

logger = logging.getLogger(__name__)

CLIENT_ID_MAX_LENGTH = 64


class Message(models.Model):
    """One message in one chat, numbered by its chat's gap-free `seq`."""

    # Not a column: message_send sets it on the original it returns for a repeated client_id.
    repeated = False
    # Not a column: message_send sets it to message_payload() of what it returns, built once: the payload
    # its broadcast carries (for a repeat, built for the answer), which its callers answer with.
    send_payload: dict[str, Any]

    # No single-column index on chat: the unique (chat, seq) index starts with it and serves every
    # history query (newest page, before_seq, after_seq) as a range scan.
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # Indexed (the default) so deleting a user does not scan every message. NULL for a deleted user's
    # messages: accounts.services.user_delete turns them into tombstones first (seq kept, so nobody's
    # history shifts); SET_NULL only backs that up for a delete that bypasses the service.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    seq = models.BigIntegerField()
    content = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # NULL (not "") when absent: the partial unique index below covers non-NULL client ids only.
    client_id = models.CharField(max_length=CLIENT_ID_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # --- edits, deletions, reactions -------------------------------------------------------------
    # 0 until the message first changes; then the chat's change counter (Chat.last_version) at its
    # latest edit, deletion or reaction change. Resuming clients ask for messages with version > theirs.
    version = models.BigIntegerField(default=0)
    # --- attachments ---
    # Whether attachments were ever given to the message: pages of messages without any (most) skip the
    # attachment query altogether, as version 0 skips the reaction one.
    has_attachments = models.BooleanField(default=False, db_default=False)
    # Not columns: what payloads show besides the row, loaded for a page at once by the selectors
    # (messaging.selectors.messages_load_details), so payload functions never query.
    attachment_list: list["Attachment"]
    reaction_counts: list["ReactionCount"]

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["chat", "seq"], name="messaging_message_chat_seq_unique"),
            # Idempotent send: one message per (chat, sender, client_id), decided by the database.
            models.UniqueConstraint(
                fields=["chat", "sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="messaging_message_client_id_unique",
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="messaging_message_seq_gte_1"),
        ]
        indexes: ClassVar = [
            # SET NULL on delete looks replies up by reply_to_id; most messages are not replies.
            models.Index(
                fields=["reply_to"], condition=Q(reply_to__isnull=False), name="messaging_message_reply_idx"
            ),
            # Changes since a version: a range scan of (chat, version) over changed messages only.
            models.Index(
                fields=["chat", "version"], condition=Q(version__gt=0), name="messaging_message_version_idx"
            ),
            # --- admin (moderation) ---
            # The message admin lists newest first and drills down by date: ORDER BY created_at DESC and
            # created_at ranges are index scans, and MIN/MAX(created_at) read one entry each.
            models.Index(fields=["created_at", "id"], name="messaging_message_created_idx"),
            # The admin's "deleted: yes" filter; deleted messages are few, so the index is small.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(deleted_at__isnull=False),
                name="messaging_message_deleted_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.seq} in chat {self.chat_id}"


# --- reactions -----------------------------------------------------------------------------------

REACTION_EMOJI_MAX_LENGTH = 32


class Reaction(models.Model):
    """One user's emoji on one message; at most one per (message, user, emoji)."""

    # No single-column index on message: the unique (message, user, emoji) index starts with it.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=REACTION_EMOJI_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            # A concurrent double add stores one row: the database decides.
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="messaging_reaction_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by user {self.user_id} on message {self.message_id}"


# --- attachments ---------------------------------------------------------------------------------


class Attachment(models.Model):
    """An uploaded file: its uploader's alone until a message carries it, then its chat's members'.

    The stored file's name is random (the client's name is display text only); deleting the row
    deletes the file once the transaction commits (see attachment_file_delete below).
    """

    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    # NULL until sent; set once, by message_send, with a conditional UPDATE ... WHERE message_id IS NULL.
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to="attachments/%Y/%m/", max_length=255)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [
            # cleanup_attachments looks for old unsent uploads only: a small partial index.
            models.Index(
                fields=["created_at"],
                condition=Q(message__isnull=True),
                name="messaging_attach_unsent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.content_type}, {self.size} bytes)"


@receiver(post_delete, sender=Attachment)
def attachment_file_delete(sender: type[Attachment], instance: Attachment, **kwargs: Any) -> None:
    """Delete the stored file once the row's deletion commits (cascades and the admin included)."""
    name, storage = instance.file.name, instance.file.storage
    if name:
        transaction.on_commit(lambda: _delete_stored(storage, name), robust=True)


def _delete_stored(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except Exception:
        # The row is gone either way; a leftover file is only wasted space.
        logger.exception("could not delete stored attachment %s", name)
