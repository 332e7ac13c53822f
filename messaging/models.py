"""Messages."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chats.models import Chat

CLIENT_ID_MAX_LENGTH = 64


class Message(models.Model):
    """One message in one chat, numbered by its chat's gap-free `seq`."""

    # No single-column index on chat: the unique (chat, seq) index starts with it and serves every
    # history query (newest page, before_seq, after_seq) as a range scan.
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # Indexed (the default) so deleting a user does not scan every message.
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages")
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
        ]

    def __str__(self) -> str:
        return f"message {self.seq} in chat {self.chat_id}"
