"""User admin: find people, ban and unban them through accounts.services."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Staff view of accounts; deactivation goes through the service so tokens and sockets die too."""

    ordering = ("-date_joined",)
    list_display = ("email", "username", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "date_joined")
    search_fields = ("email", "username")
    readonly_fields = ("date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "username", "password1", "password2")}),
    )
    actions = ("deactivate_users", "reactivate_users")

    @admin.action(description="Deactivate (ban) selected users", permissions=["change"])
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Ban: deactivate, revoke refresh tokens, close sockets."""
        count = 0
        for user in queryset.filter(is_active=True):
            services.user_deactivate(user=user)
            self.log_change(request, user, "Deactivated (banned)")
            count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Reactivate (unban) selected users", permissions=["change"])
    def reactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Unban."""
        count = 0
        for user in queryset.filter(is_active=False):
            services.user_reactivate(user=user)
            self.log_change(request, user, "Reactivated (unbanned)")
            count += 1
        self.message_user(request, f"Reactivated {count} user(s).", messages.SUCCESS)
