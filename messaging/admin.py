"""Message admin: find messages and soft-delete them through messaging.services.message_delete.

Content is read-only here (no silent rewriting of what someone said). "Delete selected messages" and
the single-message delete page erase the content through the service, which hides the message from
history and broadcasts `message_deleted` to the chat's open sockets; the row stays, with its seq.
The change list is built for a table of millions: an index-friendly search, no full count, and a
date hierarchy whose drill-down reads the index instead of scanning every row.
"""

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import DELETION, LogEntry
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.text import Truncator

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.models import Chat
from messaging.adminlist import LargeTablePaginator
from messaging.models import Message
from messaging.services import message_delete

# One action run deletes at most this many (one short transaction each); filter first for more.
DELETE_AT_ONCE_MAX = 1000
EXCERPT_CHARS = 80
# A search term naming more senders or chats than this is matched with a subquery instead of a list.
SEARCH_IDS_MAX = 500
DELETE_LOG_MESSAGE = "Deleted: content erased, hidden from history, message_deleted broadcast."
# Lookups the links from the user and chat pages use.
EXTRA_LOOKUPS = frozenset({"sender__id__exact", "chat__id__exact"})


class DeletedFilter(admin.SimpleListFilter):
    """Deleted (tombstones) or not."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """Yes / no."""
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        """Filter on deleted_at."""
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Messages, newest first; read-only, soft delete only."""

    list_display = ("id", "chat", "seq", "sender", "excerpt", "created_at", "deleted_at")
    list_select_related = ("sender", "chat")
    list_filter = (DeletedFilter, "created_at")
    date_hierarchy = "created_at"
    # The keys are documentation for the search box; get_search_results does the searching.
    search_fields = ("content", "=sender__email", "=sender__username", "chat__name")
    search_help_text = (
        "Words in the content; a sender's email or username; a chat's name; or a chat or message id."
    )
    # Newest first, served by the (created_at, id) index; so are date filters and the hierarchy.
    ordering = ("-created_at", "-id")
    # No COUNT(*) over the whole table on every page view: the filtered count is estimated where
    # it would be slow (LargeTablePaginator), and facet counts are never computed.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = LargeTablePaginator
    actions = ("delete_selected",)

    @admin.display(description="Content")
    def excerpt(self, obj: Message) -> str:
        """The start of the message."""
        return Truncator(obj.content).chars(EXCERPT_CHARS) if obj.deleted_at is None else "(deleted)"

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Also allow the "messages of this user / chat" links."""
        return lookup in EXTRA_LOOKUPS or super().lookup_allowed(lookup, value, request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Message], search_term: str
    ) -> tuple[QuerySet[Message], bool]:
        """A number finds a chat's messages or one message by id (index lookups); other words find
        content, a sender by exact email or username, or a chat by name. Subqueries, not joins: no
        duplicates, so no DISTINCT over a large table.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            number = int(term)
            if not is_bigint_id(number):
                return queryset.none(), False
            return queryset.filter(Q(chat_id=number) | Q(pk=number)), False
        # Ids as literals, so PostgreSQL can OR the trigram, sender and (chat, seq) indexes together.
        matches = Q(content__icontains=term)
        for field, rows in (
            ("sender_id", User.objects.filter(Q(email__iexact=term) | Q(username__iexact=term))),
            ("chat_id", Chat.objects.filter(name__icontains=term)),
        ):
            found = list(rows.values_list("pk", flat=True)[: SEARCH_IDS_MAX + 1])
            if len(found) > SEARCH_IDS_MAX:
                matches |= Q(**{f"{field}__in": rows.values("pk")})
            elif found:
                matches |= Q(**{f"{field}__in": found})
        return queryset.filter(matches), False

    # --- read-only ------------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Messages are created through message_send only (seq and broadcasts)."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        """Nobody rewrites what someone said."""
        return False

    # --- soft delete ------------------------------------------------------------------------------

    def _soft_delete(self, request: HttpRequest, message_ids: list[int]) -> list[Message]:
        """Delete each message through the service (one short transaction each) and log the batch."""
        deleted = [message_delete(message_id=pk, actor=request.user) for pk in message_ids]  # type: ignore[arg-type]
        if deleted:
            LogEntry.objects.log_actions(
                user_id=cast(int, request.user.pk),
                queryset=deleted,
                action_flag=DELETION,
                change_message=DELETE_LOG_MESSAGE,
            )
        return deleted

    @admin.action(description="Delete selected messages", permissions=["delete"])
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Message]) -> TemplateResponse | None:
        """Soft-delete the selected messages after a confirmation page (replaces Django's hard delete)."""
        pending = queryset.filter(deleted_at__isnull=True).order_by("id")
        ids = list(pending.values_list("pk", flat=True)[: DELETE_AT_ONCE_MAX + 1])
        if len(ids) > DELETE_AT_ONCE_MAX:
            self.message_user(
                request,
                f"At most {DELETE_AT_ONCE_MAX} messages can be deleted at once: filter or search first.",
                messages.ERROR,
            )
            return None
        if not ids:
            self.message_user(request, "The selected messages are already deleted.", messages.WARNING)
            return None
        if request.POST.get("post") == "yes":
            deleted = self._soft_delete(request, ids)
            self.message_user(request, f"Deleted {len(deleted)} message(s).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Delete messages",
            "subtitle": None,
            "opts": self.opts,
            "messages_to_delete": pending.select_related("sender", "chat")[:DELETE_AT_ONCE_MAX],
            "count": len(ids),
            "ids": ids,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/messaging/message/soft_delete_confirmation.html", context)

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        """`messaging.delete_message`, or your own message (its delete page): message_delete's rule."""
        if super().has_delete_permission(request, obj):
            return True
        return obj is not None and obj.sender_id is not None and obj.sender_id == request.user.pk

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        """The single-message delete page: only the message itself goes (no cascade to list)."""
        objs = list(objs)
        names = [str(obj) for obj in objs]
        allowed = all(self.has_delete_permission(request, obj) for obj in objs)
        perms_needed = set() if allowed else {"message"}
        return names, {"messages": len(names)}, perms_needed, []

    def delete_model(self, request: HttpRequest, obj: Message) -> None:
        """The single-message delete page soft-deletes through the service too."""
        message_delete(message_id=obj.pk, actor=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        """Never a hard delete from the admin."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        for pk in queryset.filter(deleted_at__isnull=True).values_list("pk", flat=True):
            message_delete(message_id=pk, actor=request.user)  # type: ignore[arg-type]
