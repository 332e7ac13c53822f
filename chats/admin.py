"""Chat admin: find chats, and add, remove or re-role members through chats.services.

The member inlines never write ChatMember rows themselves: ChatAdmin.save_related turns the submitted
forms into member_set_role, member_remove and member_add calls with the staff user as the actor (the
services let a holder of the chatmember permissions manage a chat without being in it), so live sockets
are subscribed or unsubscribed and members receive `member_added`, `member_removed` and `member_updated`,
exactly as through the API. Chat fields are all
read-only: saving a Chat row from a form loaded seconds ago would write back a stale `last_seq`.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.authentication import authenticated_user
from accounts.models import User
from chatproject.errors import DomainError
from chats import services
from chats.models import Chat, ChatMember

# Lookups the links from other admin pages use (a user's chats).
EXTRA_LOOKUPS = frozenset({"memberships__user__id__exact"})


def _is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type == Chat.Type.GROUP


def _deleting(form: forms.Form) -> bool:
    """Whether an inline form's "delete" box is ticked (what BaseFormSet._should_delete_form reads)."""
    return bool(getattr(form, "cleaned_data", {}).get(DELETION_FIELD_NAME, False))


def _moderator(request: HttpRequest) -> User:
    """The staff user acting: admin views only run for a logged-in staff member."""
    return authenticated_user(request)


class MemberFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Existing members: a group keeps exactly one owner, so ownership moves, it is never just dropped."""

    def clean(self) -> None:
        """Refuse lowering the owner's role unless another member is made the owner in the same save."""
        super().clean()
        kept = [f for f in self.forms if f.instance.pk and not _deleting(f) and f.is_valid()]
        promoted = [
            f for f in kept if f.cleaned_data.get("role") == ChatMember.Role.OWNER != f.initial.get("role")
        ]
        if len(promoted) > 1:
            raise ValidationError("A group has one owner: make only one member the owner.")
        demoted = [
            f for f in kept if f.initial.get("role") == ChatMember.Role.OWNER != f.cleaned_data.get("role")
        ]
        if demoted and not promoted:
            raise ValidationError(
                "The owner's role cannot be lowered: make another member the owner instead."
            )


class ChatMemberInline(admin.TabularInline):  # type: ignore[type-arg]
    """The chat's members: change a role or tick "delete" to remove (group chats only)."""

    model = ChatMember
    formset = MemberFormSet
    extra = 0
    fields = ("user", "role", "joined_at", "last_read_seq")
    readonly_fields = ("user", "joined_at", "last_read_seq")
    verbose_name = "member"
    verbose_name_plural = "members"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChatMember]:
        """Members oldest first, with their users in the same query."""
        return super().get_queryset(request).select_related("user").order_by("joined_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Chat | None = None) -> bool:
        """New members are added in the "add members" inline below."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Chat | None = None) -> bool:
        """Roles exist in groups only."""
        return _is_group(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Chat | None = None) -> bool:
        """Private chats keep their two members forever."""
        return _is_group(obj) and super().has_delete_permission(request, obj)


class AddMemberFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """New members: refuse people already in the chat (their role is changed in the members list)."""

    def clean(self) -> None:
        """Refuse users who are already members.

        Django skips the (chat, user) unique constraint on inline forms (the chat is their inline
        foreign key), and member_add skips present users silently: without this check the row would
        be logged as an addition that never happened, and its role applied to the existing member.
        """
        super().clean()
        users = [
            f.cleaned_data["user"]
            for f in self.extra_forms
            if f.has_changed() and f.is_valid() and f.cleaned_data.get("user") is not None
        ]
        present = ChatMember.objects.filter(chat=self.instance, user__in=users).select_related("user")
        emails = sorted(member.user.email for member in present)
        if emails:
            raise ValidationError(
                f"Already a member: {', '.join(emails)}. Change their role in the members list instead."
            )


class AddMemberForm(forms.ModelForm):  # type: ignore[type-arg]
    """One user to add; ownership is moved with the role of an existing member, not given on joining."""

    role = forms.ChoiceField(
        choices=[(ChatMember.Role.MEMBER, "member"), (ChatMember.Role.ADMIN, "admin")],
        initial=ChatMember.Role.MEMBER,
    )

    class Meta:
        model = ChatMember
        fields = ("user", "role")


class AddMemberInline(admin.TabularInline):  # type: ignore[type-arg]
    """Empty rows for adding members to a group; the user is picked by email or username search."""

    model = ChatMember
    form = AddMemberForm
    formset = AddMemberFormSet
    extra = 1
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    can_delete = False
    verbose_name = "member to add"
    verbose_name_plural = "add members"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChatMember]:
        """Only new rows: existing members are in the inline above."""
        return super().get_queryset(request).none()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Only active users can join (member_add treats the others as unknown)."""
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Chat | None = None) -> bool:
        """Groups only: private chats have fixed membership."""
        return _is_group(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Chat | None = None) -> bool:
        """This inline never shows existing rows."""
        return False


@admin.register(Chat)
class ChatAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Chats, newest activity first; membership changes go through chats.services."""

    list_display = ("id", "type", "name", "created_at", "last_message_at", "last_seq")
    list_filter = ("type",)
    search_fields = ("name", "memberships__user__email", "memberships__user__username")
    search_help_text = "A group's name, or a member's email or username."
    ordering = ("-last_message_at", "-id")
    show_full_result_count = False
    fields = (
        "type",
        "name",
        "created_at",
        "created_by",
        "last_seq",
        "last_message_at",
        "member_count",
        "messages",
    )
    readonly_fields = fields
    inlines = (ChatMemberInline, AddMemberInline)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Also allow the "this user's chats" link from the user page."""
        return lookup in EXTRA_LOOKUPS or super().lookup_allowed(lookup, value, request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Chat]:
        """Chats with their creator (shown on the change page)."""
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description="Members")
    def member_count(self, obj: Chat) -> int:
        """How many members the chat has."""
        return obj.memberships.count()

    @admin.display(description="Messages")
    def messages(self, obj: Chat) -> SafeString:
        """A link to the chat's messages in the message admin."""
        url = reverse("admin:messaging_message_changelist") + f"?chat__id__exact={obj.pk}"
        return format_html('<a href="{}">{} messages (seq 1 to {})</a>', url, obj.last_seq, obj.last_seq)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Chats are created through the API (chat_create_private, chat_create_group)."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Chat | None = None) -> bool:
        """No service deletes a chat (its members' sockets would stay subscribed)."""
        return False

    def save_model(self, request: HttpRequest, obj: Chat, form: Any, change: bool) -> None:
        """Nothing to save on the chat itself (every field is read-only): never write a stale row back."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The stock view; a service refusing a change rolls the whole save back and says why."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # Raised inside the view's transaction.atomic: nothing was written and no broadcast left.
            self.message_user(request, f"Nothing was saved: {exc.message}.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request: HttpRequest, form: Any, formsets: list[Any], change: bool) -> None:
        """Apply the member inlines through the services: role changes, then removals, then additions.

        Roles first, owner promotions before the rest, so a new owner is in place before the old one
        is lowered or removed (removing an owner would otherwise hand ownership to someone else).
        What was done is kept on the form for construct_change_message (the admin log).
        """
        chat: Chat = form.instance
        form.member_changes = []
        for formset in formsets:
            if isinstance(formset, MemberFormSet):
                form.member_changes += self._save_members(request, chat, formset)
        for formset in formsets:
            if issubclass(formset.form, AddMemberForm):
                form.member_changes += self._add_members(request, chat, formset)

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        """The admin log entry: each member added, removed or re-roled, by email."""
        return list(getattr(form, "member_changes", []))

    def _save_members(self, request: HttpRequest, chat: Chat, formset: MemberFormSet) -> list[dict[str, Any]]:
        done: list[dict[str, Any]] = []
        kept = [f for f in formset.initial_forms if not _deleting(f)]
        changed = [f for f in kept if f.has_changed() and "role" in f.changed_data]
        changed.sort(key=lambda f: f.cleaned_data["role"] != ChatMember.Role.OWNER)
        for f in changed:
            member, role = f.instance, f.cleaned_data["role"]
            services.member_set_role(
                chat_id=chat.pk, actor=_moderator(request), user_id=member.user_id, role=role
            )
            done.append(
                {"changed": {"name": "member", "object": member.user.email, "fields": [f"role: {role}"]}}
            )
        for f in formset.initial_forms:
            if _deleting(f):
                member = f.instance
                services.member_remove(chat_id=chat.pk, actor=_moderator(request), user_id=member.user_id)
                done.append({"deleted": {"name": "member", "object": member.user.email}})
        return done

    def _add_members(self, request: HttpRequest, chat: Chat, formset: Any) -> list[dict[str, Any]]:
        done: list[dict[str, Any]] = []
        for f in formset.extra_forms:
            if not f.has_changed():
                continue
            user, role = f.cleaned_data["user"], f.cleaned_data["role"]
            added = services.member_add(chat_id=chat.pk, actor=_moderator(request), user_ids=[user.pk])
            if not added:
                continue  # joined since the form was checked: nothing was added, so nothing to log
            if role != ChatMember.Role.MEMBER:
                services.member_set_role(
                    chat_id=chat.pk, actor=_moderator(request), user_id=user.pk, role=role
                )
            done.append({"added": {"name": "member", "object": f"{user.email} ({role})"}})
        return done
