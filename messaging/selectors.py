"""Message reads: history pages and catch-up, for members only.

Every query here is a range scan of the unique (chat_id, seq) index: the newest page walks it
backwards from the end, before_seq from a point backwards, after_seq from a point forwards.
"""

import re
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import Count, Func, Min, Q, QuerySet, prefetch_related_objects

from accounts.models import User
from chatproject.fields import BIGINT_MAX, is_bigint_id
from chats.models import ChatMember
from chats.selectors import member_check
from messaging.errors import AttachmentNotFoundError, InvalidSearchQueryError
from messaging.models import Attachment, Message, Reaction

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def clamp_limit(limit: int, maximum: int = MAX_PAGE_SIZE) -> int:
    """Page sizes over `maximum` (MAX_PAGE_SIZE) shrink to it; below 1 grow to 1."""
    return max(1, min(limit, maximum))


def _in_chat(chat_id: int) -> QuerySet[Message]:
    # Deleted messages stay as tombstones (deleted: true, empty content), so seqs stay gap-free.
    return Message.objects.filter(chat_id=chat_id)


def message_history(
    *,
    chat_id: int,
    user: User,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
    before_seq: int | None = None,
    after_seq: int | None = None,
    mark_mine: bool = True,
    max_limit: int = MAX_PAGE_SIZE,
) -> list[Message]:
    """A page of a chat's messages for a member (the selector behind GET /api/messages/get).

    Deleted messages are in it as tombstones. Reaction counts are loaded in one more query (none when
    no message of the page ever changed); `mark_mine` also says which reactions are the user's.

    before_seq keeps messages older than it, after_seq messages newer than it (both: the window
    between). The page is oldest first when after_seq is given (catching up), newest first otherwise;
    `offset` skips that many from the start of that order, `limit` (clamped to 1..max_limit) caps it.
    Raises NotChatMemberError.
    """
    member_check(chat_id=chat_id, user=user)
    limit = clamp_limit(limit, max_limit)
    messages = _in_chat(chat_id)
    if before_seq is not None:
        messages = messages.filter(seq__lt=min(before_seq, BIGINT_MAX))
    if after_seq is not None:
        messages = messages.filter(seq__gt=min(after_seq, BIGINT_MAX))
    ordered = messages.order_by("seq" if after_seq is not None else "-seq")
    offset = min(max(offset, 0), BIGINT_MAX - limit)
    page = list(ordered[offset : offset + limit])
    reactions_attach(page, viewer=user if mark_mine else None)
    prefetch_related_objects(page, "attachments")  # attachments: one query per page
    return page


def messages_after(*, chat_id: int, user: User, after_seq: int, limit: int) -> list[Message]:
    """Up to `limit` messages with seq > after_seq, oldest first: how a reconnecting client catches up.

    `limit` is the caller's (the socket's replay limit), not the REST page maximum: a replay that
    was silently cut at 100 would look complete. Raises NotChatMemberError.
    """
    return message_history(
        chat_id=chat_id, user=user, limit=limit, after_seq=after_seq, mark_mine=False, max_limit=max(limit, 1)
    )


def messages_changed(
    *,
    chat_id: int,
    user: User,
    since_version: int,
    limit: int = DEFAULT_PAGE_SIZE,
    mark_mine: bool = True,
    max_limit: int = MAX_PAGE_SIZE,
) -> list[Message]:
    """Messages whose latest change (edit, deletion, reaction) has a version > since_version, in change order.

    What a client that was away missed about messages it already had; tombstones included. A range
    scan of the partial (chat, version) index; `limit` is clamped to 1..max_limit. Raises NotChatMemberError.
    """
    member_check(chat_id=chat_id, user=user)
    since = min(max(since_version, 0), BIGINT_MAX)
    # version > 0 is the partial index's condition, stated so the planner need not prove it.
    changed = Message.objects.filter(chat_id=chat_id, version__gt=0).filter(version__gt=since)
    page = list(changed.order_by("version")[: clamp_limit(limit, max_limit)])
    reactions_attach(page, viewer=user if mark_mine else None)
    prefetch_related_objects(page, "attachments")  # attachments: one query per page
    return page


# --- reactions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReactionCount:
    """One emoji on a message: how many chose it, and (when counted for a viewer) whether they did."""

    emoji: str
    count: int
    me: bool | None = None


def reactions_attach(messages: list[Message], *, viewer: User | None = None) -> None:
    """Count every message's reactions in one query and keep them on the messages for the payload.

    No query when no message ever changed (version 0: no reaction was ever added). With `viewer`,
    each count also says whether the viewer is among it.
    """
    summaries: dict[int, list[ReactionCount]] = defaultdict(list)
    changed = [message.pk for message in messages if message.version > 0 and message.deleted_at is None]
    if changed:
        annotations = {"count": Count("id"), "first": Min("id")}
        if viewer is not None:
            annotations["mine"] = Count("id", filter=Q(user=viewer))
        rows = (
            Reaction.objects.filter(message_id__in=changed)
            .values("message_id", "emoji")
            .annotate(**annotations)
            .order_by("message_id", "first")
        )
        for row in rows:
            me = None if viewer is None else row["mine"] > 0
            summaries[row["message_id"]].append(ReactionCount(row["emoji"], row["count"], me))
    for message in messages:
        message.reaction_counts = summaries.get(message.pk, [])  # type: ignore[attr-defined]


def reaction_summary(message: Message) -> list[ReactionCount]:
    """The message's reaction counts: those reactions_attach kept, else counted now (one query)."""
    if not hasattr(message, "reaction_counts"):
        reactions_attach([message])
    return message.reaction_counts  # type: ignore[attr-defined, no-any-return]


# --- search --------------------------------------------------------------------------------------

# Letters and digits: how PostgreSQL's text-search parser splits words (it splits on "_" too).
_WORD = re.compile(r"[^\W_]+")
# Substring matching needs a trigram: shorter fragments are matched as word prefixes only.
SUBSTRING_MIN_LENGTH = 3


class _SimpleTsVector(Func):
    """to_tsvector('simple', content): exactly the expression messaging_message_fts_idx indexes."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()


def _prefix_tsquery(words: list[str]) -> str:
    """Every word as a prefix, all required: "hel wor" -> 'hel':* & 'wor':* (letters and digits need no quoting)."""
    return " & ".join(f"'{word}':*" for word in words)


def message_search(
    *,
    user: User,
    q: str,
    chat_id: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    before_id: int | None = None,
) -> list[Message]:
    """Messages matching `q` in the user's chats (or one of them), newest first; deleted ones never.

    A message matches when every word of `q` starts a word of its text (full-text prefix search),
    or when `q` (3+ characters) occurs in it anywhere, case-insensitively. PostgreSQL answers both
    from GIN indexes (full-text and trigram); other databases scan with icontains. Keyset paging by
    id (before_id); `limit` is clamped to 1..100. Raises InvalidSearchQueryError, NotChatMemberError.
    """
    text = q.strip()
    words = _WORD.findall(text.lower())
    if not words and len(text) < SUBSTRING_MIN_LENGTH:
        raise InvalidSearchQueryError()
    if chat_id is not None:
        member_check(chat_id=chat_id, user=user)
        messages = Message.objects.filter(chat_id=chat_id)
    else:
        messages = Message.objects.filter(chat_id__in=ChatMember.objects.filter(user=user).values("chat_id"))
    messages = messages.filter(deleted_at__isnull=True)
    if before_id is not None:
        messages = messages.filter(pk__lt=min(before_id, BIGINT_MAX))
    postgres = connection.vendor == "postgresql"
    # Substrings: on PostgreSQL through the trigram index, so from 3 characters only; elsewhere (SQLite
    # under `make run`) a plain scan, which needs no such floor.
    match = Q(content__icontains=text) if len(text) >= SUBSTRING_MIN_LENGTH or not postgres else Q()
    if postgres and words:
        query = SearchQuery(_prefix_tsquery(words), config="simple", search_type="raw")
        messages = messages.alias(document=_SimpleTsVector("content"))
        match = Q(document=query) | match
    messages = messages.filter(match)
    page = list(messages.order_by("-pk")[: clamp_limit(limit)])
    reactions_attach(page, viewer=user)
    prefetch_related_objects(page, "attachments")  # attachments: one query per page
    return page


# --- attachments -----------------------------------------------------------------------------------


def attachment_get_for_download(*, attachment_id: int, user: User) -> Attachment:
    """An attachment the user may read: sent in a chat they are a member of, or their own unsent upload.

    Raises AttachmentNotFoundError for a missing attachment and a forbidden one alike.
    """
    if not is_bigint_id(attachment_id):
        raise AttachmentNotFoundError()
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise AttachmentNotFoundError()
    message = attachment.message
    if message is None:
        allowed = attachment.uploader_id == user.pk
    else:
        allowed = (
            message.deleted_at is None
            and ChatMember.objects.filter(chat_id=message.chat_id, user=user).exists()
        )
    if not allowed:
        raise AttachmentNotFoundError()
    return attachment
