"""User admin (find people, ban and unban them through accounts.services) and the moderation audit log.

Moderators (the `Moderators` group, accounts/migrations/0002) hold `view_user` and `ban_user`, not
`change_user`: they see accounts read-only and ban or unban them, but cannot edit staff flags,
permissions or passwords. Every ban and unban is written to Django's admin log (LogEntry), which
is browsable read-only under "Administration > Log entries". Deleting a user (superusers) goes
through accounts.services.user_delete, which leaves their messages as tombstones.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts import services
from accounts.models import User

# Chats listed on a user's page; the rest are one click away in the chat list filtered by member.
CHATS_SHOWN = 50

BAN_MESSAGE = "Banned: deactivated, every refresh token revoked, open sockets closed (4403)."
UNBAN_MESSAGE = "Unbanned: reactivated (revoked refresh tokens stay revoked)."


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Staff view of accounts; bans go through the service so tokens and sockets die too."""

    ordering = ("-date_joined",)
    list_display = ("email", "username", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "date_joined")
    search_fields = ("email", "username")
    readonly_fields = ("date_joined", "last_login", "chats", "message_count")
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Activity", {"fields": ("chats", "message_count")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "username", "password1", "password2")}),
    )
    actions = ("deactivate_users", "reactivate_users")
    # Counting every account on each page view costs a scan; the filtered count is enough.
    show_full_result_count = False

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Viewers without `change_user` (moderators) do not see the password hash or permission lists."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        hidden = {"password", "user_permissions"}
        return tuple(
            (name, {**options, "fields": tuple(f for f in options["fields"] if f not in hidden)})
            for name, options in fieldsets
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        """Search by email and username; the chat-member autocomplete offers active users only."""
        if request.path.endswith("/autocomplete/") and request.GET.get("model_name") == "chatmember":
            queryset = queryset.filter(is_active=True)
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Save the form; unticking or ticking "active" bans or unbans through the service, like the actions."""
        toggled = change and "is_active" in form.changed_data
        wanted = obj.is_active
        if toggled:
            obj.is_active = not wanted  # the row keeps its old state; the service makes the change
        super().save_model(request, obj, form, change)
        if toggled:
            if wanted:
                services.user_reactivate(user=obj)
            else:
                services.user_deactivate(user=obj)
            obj.is_active = wanted
            self.log_change(request, obj, UNBAN_MESSAGE if wanted else BAN_MESSAGE)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        """Delete through accounts.services.user_delete: messages become tombstones, sockets close."""
        services.user_delete(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """The "delete selected" action: each user through the service, one transaction each."""
        for user in queryset:
            services.user_delete(user=user)

    # --- what a user does -------------------------------------------------------------------------

    @admin.display(description="Chats")
    def chats(self, obj: User) -> SafeString | str:
        """The user's chats (newest membership first) with their role, each linking to the chat."""
        if obj.pk is None:
            return "-"
        # Reverse relations of chats.ChatMember.user and messaging.Message.sender: accounts imports neither app.
        memberships = obj.chat_memberships.select_related("chat").order_by("-joined_at", "-id")
        shown = list(memberships[: CHATS_SHOWN + 1])
        if not shown:
            return "none"
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a> ({})</li>',
            (
                (reverse("admin:chats_chat_change", args=[m.chat_id]), str(m.chat), m.role)
                for m in shown[:CHATS_SHOWN]
            ),
        )
        more = ""
        if len(shown) > CHATS_SHOWN:
            url = reverse("admin:chats_chat_changelist") + f"?memberships__user__id__exact={obj.pk}"
            more = format_html('<li><a href="{}">all {} chats</a></li>', url, memberships.count())
        return format_html("<ul>{}{}</ul>", items, more)

    @admin.display(description="Messages sent")
    def message_count(self, obj: User) -> SafeString | str:
        """How many messages the user sent (deleted ones included), linking to them."""
        if obj.pk is None:
            return "-"
        count = obj.messages.count()
        url = reverse("admin:messaging_message_changelist") + f"?sender__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, count)

    # --- ban and unban ----------------------------------------------------------------------------

    def has_ban_permission(self, request: HttpRequest) -> bool:
        """Ban and unban take `accounts.ban_user` (the Moderators group has it)."""
        return request.user.has_perm("accounts.ban_user")

    def _bannable(self, request: HttpRequest, queryset: QuerySet[User]) -> tuple[list[User], int]:
        """(users the requester may ban or unban, how many selected were skipped).

        Nobody bans themselves, and only superusers act on staff accounts (a moderator must not be
        able to lock out the people who moderate them).
        """
        selected = list(queryset)
        allowed = [
            user
            for user in selected
            if user.pk != request.user.pk
            and (request.user.is_superuser or not (user.is_staff or user.is_superuser))
        ]
        return allowed, len(selected) - len(allowed)

    def _report_skipped(self, request: HttpRequest, skipped: int) -> None:
        if skipped:
            self.message_user(
                request,
                f"Skipped {skipped} user(s): your own account, or staff accounts (superusers only).",
                messages.WARNING,
            )

    @admin.action(
        description="Ban selected users (deactivate, revoke tokens, close sockets)", permissions=["ban"]
    )
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Ban through accounts.services.user_deactivate and record it in the admin log."""
        users, skipped = self._bannable(request, queryset.filter(is_active=True))
        for user in users:
            services.user_deactivate(user=user)
            self.log_change(request, user, BAN_MESSAGE)
        self.message_user(request, f"Deactivated {len(users)} user(s).", messages.SUCCESS)
        self._report_skipped(request, skipped)

    @admin.action(description="Unban selected users (reactivate)", permissions=["ban"])
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Unban through accounts.services.user_reactivate and record it in the admin log."""
        users, skipped = self._bannable(request, queryset.filter(is_active=False))
        for user in users:
            services.user_reactivate(user=user)
            self.log_change(request, user, UNBAN_MESSAGE)
        self.message_user(request, f"Reactivated {len(users)} user(s).", messages.SUCCESS)
        self._report_skipped(request, skipped)


# --- audit trail ------------------------------------------------------------------------------------


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Who did what, and when: every ban, unban, member change and message deletion, read-only."""

    list_display = ("action_time", "user", "action", "content_type", "target", "change_message_text")
    list_filter = ("action_flag", "content_type", "action_time")
    search_fields = ("object_repr", "change_message", "=user__email")
    list_select_related = ("user", "content_type")
    ordering = ("-action_time", "-id")
    show_full_result_count = False

    @admin.display(description="Action", ordering="action_flag")
    def action(self, obj: LogEntry) -> str:
        """Addition, change or deletion."""
        return str(obj.get_action_flag_display())

    @admin.display(description="Object")
    def target(self, obj: LogEntry) -> SafeString | str:
        """The object acted on, linked to its admin page when it still has one."""
        url = obj.get_admin_url()
        return format_html('<a href="{}">{}</a>', url, obj.object_repr) if url else obj.object_repr

    @admin.display(description="What")
    def change_message_text(self, obj: LogEntry) -> str:
        """The recorded change, in words."""
        return obj.get_change_message()

    def has_add_permission(self, request: HttpRequest) -> bool:
        """The log is written by the admin itself."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: LogEntry | None = None) -> bool:
        """An audit trail is never edited."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: LogEntry | None = None) -> bool:
        """An audit trail is never pruned from the admin."""
        return False
