"""Chats and their members."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Chat(models.Model):
    """A private (two people, fixed) or group (named, managed) conversation."""

    class Type(models.TextChoices):
        PRIVATE = "private", "private"
        GROUP = "group", "group"

    type = models.CharField(max_length=20, choices=Type.choices)
    # NULL for private chats, as in the seed's schema (a name is a group's alone).
    name = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "<smaller id>:<larger id>" for private chats, NULL for groups: the unique index on it is what
    # makes "one private chat per pair" hold under concurrent creation from either side.
    private_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    # The seq of the newest message; bumped under a row lock by messaging.services.message_send.
    last_seq = models.BigIntegerField(default=0, editable=False)
    last_message_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The chat's change counter: every edit, deletion or reaction change of one of its messages takes
    # the next value under the chat row lock (messaging.services), so clients resume changes from it.
    last_version = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(type__in=["private", "group"]), name="chats_chat_type_check"),
            models.CheckConstraint(
                condition=Q(type="private", private_key__isnull=False)
                | Q(type="group", private_key__isnull=True),
                name="chats_chat_private_key_iff_private",
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="chats_chat_last_seq_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.type} chat {self.pk}" + (f" {self.name!r}" if self.name else "")

    @staticmethod
    def private_key_for(user_id: int, other_user_id: int) -> str:
        """The same key whichever side creates the chat."""
        low, high = sorted((user_id, other_user_id))
        return f"{low}:{high}"


class ChatMember(models.Model):
    """One user's membership of one chat, with their role and read position."""

    class Role(models.TextChoices):
        OWNER = "owner", "owner"
        ADMIN = "admin", "admin"
        MEMBER = "member", "member"

    # No single-column index on chat: the unique (chat, user) index starts with it.
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships", db_index=False
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            # Membership check: WHERE chat_id = ? AND user_id = ?
            models.UniqueConstraint(fields=["chat", "user"], name="chats_member_chat_user_unique"),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "admin", "member"]), name="chats_member_role_check"
            ),
            models.CheckConstraint(condition=Q(last_read_seq__gte=0), name="chats_member_last_read_gte_0"),
        ]
        indexes: ClassVar = [
            # The user's chat list (and chat_ids_for_user) as an index-only scan.
            models.Index(fields=["user", "chat"], name="chats_member_user_chat_idx"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} in chat {self.chat_id} ({self.role})"
