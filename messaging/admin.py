"""Message admin: read-only browsing for support and moderation."""

from django.contrib import admin
from django.http import HttpRequest

from messaging.models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Messages by chat and seq; edits belong to the API, so everything here is read-only."""

    list_display = ("id", "chat", "seq", "sender", "created_at", "deleted_at")
    list_select_related = ("sender",)
    search_fields = ("=chat__id", "=sender__email")
    raw_id_fields = ("chat", "sender", "reply_to")
    ordering = ("-id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Messages are created through message_send only (seq and broadcasts)."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        """Read-only."""
        return False
