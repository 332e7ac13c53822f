"""Chat admin: browse chats and members; staff may change a member's role (e.g. make an admin)."""

from django.contrib import admin
from django.http import HttpRequest

from chats.models import Chat, ChatMember


class ChatMemberInline(admin.TabularInline):  # type: ignore[type-arg]
    """Members of one chat; only the role is editable (membership changes go through the API)."""

    model = ChatMember
    extra = 0
    fields = ("user", "role", "joined_at", "last_read_seq")
    readonly_fields = ("user", "joined_at", "last_read_seq")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Chat | None = None) -> bool:
        """Adding members here would skip the service's checks and broadcasts."""
        return False


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Chats, newest activity first."""

    list_display = ("id", "type", "name", "created_at", "last_message_at", "last_seq")
    list_filter = ("type",)
    search_fields = ("name",)
    ordering = ("-last_message_at",)
    readonly_fields = ("type", "private_key", "created_at", "created_by", "last_seq", "last_message_at")
    inlines = (ChatMemberInline,)
