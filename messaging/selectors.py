"""Message reads: history pages and catch-up, for members only.

Every query here is a range scan of the unique (chat_id, seq) index: the newest page walks it
backwards from the end, before_seq from a point backwards, after_seq from a point forwards.
"""

import re
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import Count, F, Func, Min, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import User
from chatproject.fields import BIGINT_MAX, is_bigint_id
from chats.models import ChatMember
from chats.selectors import chat_ids_for_user, member_check
from messaging.errors import AttachmentNotFoundError, InvalidSearchQueryError, MessageNotFoundError
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
    attachments_attach(page)
    return page


def messages_after(
    *, chat_id: int, user: User, after_seq: int, limit: int, through_seq: int | None = None
) -> list[Message]:
    """Up to `limit` messages with seq > after_seq (and <= through_seq), oldest first: how a socket catches up.

    `limit` is the caller's (the socket's replay limit), not the REST page maximum: a replay that
    was silently cut at 100 would look complete. Raises NotChatMemberError.
    """
    return message_history(
        chat_id=chat_id,
        user=user,
        limit=limit,
        after_seq=after_seq,
        before_seq=None if through_seq is None else min(through_seq, BIGINT_MAX - 1) + 1,
        mark_mine=False,
        max_limit=max(limit, 1),
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
    attachments_attach(page)
    return page


def message_get_for_member(*, message_id: int, user: User) -> Message:
    """One message of a chat the user is a member of (tombstones included), attachments loaded.

    Raises MessageNotFoundError for a missing message and for one in a chat the user is not in alike.
    """
    if not is_bigint_id(message_id):
        raise MessageNotFoundError()
    message = Message.objects.filter(pk=message_id, chat__memberships__user=user).first()
    if message is None:
        raise MessageNotFoundError()
    attachments_attach([message])
    return message


def attachments_attach(messages: list[Message]) -> None:
    """Load the messages' attachments in one query and keep them on the messages for the payload.

    No query when none of them ever carried one (Message.has_attachments), which is most pages.

    Not prefetch_related_objects: it builds a related manager and a queryset per message, which cost
    more than the query itself on a page of 50 (messaging.payloads.message_attachments reads these).
    """
    by_message: dict[int, list[Attachment]] = defaultdict(list)
    carrying = [message.pk for message in messages if message.has_attachments]
    if carrying:
        for attachment in Attachment.objects.filter(message_id__in=carrying).order_by("pk"):
            by_message[attachment.message_id].append(attachment)  # type: ignore[index]
    for message in messages:
        message.attachment_list = by_message.get(message.pk, [])  # type: ignore[attr-defined]


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
# PostgreSQL search first filters this many of the newest messages per result asked for (1,000 for a
# page of 50): a word in at least 1 of 20 recent messages is found there, anything rarer by the indexes.
RECENT_WINDOW_PER_RESULT = 20


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
    from GIN indexes (full-text and trigram) after a look at the newest messages (_search_postgresql);
    other databases scan with icontains. Keyset paging by id (before_id); `limit` is clamped to 1..100.
    Raises InvalidSearchQueryError, NotChatMemberError.
    """
    text = q.strip()
    words = _WORD.findall(text.lower())
    if not words and len(text) < SUBSTRING_MIN_LENGTH:
        raise InvalidSearchQueryError()
    if chat_id is not None:
        member_check(chat_id=chat_id, user=user)
    limit = clamp_limit(limit)
    before = None if before_id is None else min(before_id, BIGINT_MAX)
    if connection.vendor == "postgresql":
        page = _search_postgresql(
            user=user, chat_id=chat_id, text=text, words=words, limit=limit, before_id=before
        )
    else:
        # SQLite (`make run`): a plain scan, which needs no 3-character floor for substrings.
        matches = _search_scope(user=user, chat_id=chat_id).filter(content__icontains=text)
        if before is not None:
            matches = matches.filter(pk__lt=before)
        page = list(matches.order_by("-pk")[:limit])
    reactions_attach(page, viewer=user)
    attachments_attach(page)
    return page


def _search_scope(*, user: User, chat_id: int | None) -> QuerySet[Message]:
    """The messages a search may find: the chat's (membership already checked) or the user's chats'."""
    if chat_id is not None:
        messages = Message.objects.filter(chat_id=chat_id)
    else:
        messages = Message.objects.filter(chat_id__in=ChatMember.objects.filter(user=user).values("chat_id"))
    return messages.filter(deleted_at__isnull=True)


def _search_postgresql(
    *, user: User, chat_id: int | None, text: str, words: list[str], limit: int, before_id: int | None
) -> list[Message]:
    """Search in two steps, so that neither a common nor a rare word gets a bad plan.

    No single plan suits both. A common word is found at once by walking the newest messages, but
    a rare one that way means reading the whole chat; the GIN indexes find a rare word at once, but
    a common one means fetching and rechecking every match. PostgreSQL's estimate cannot tell them
    apart (a prefix query gets a default guess), so it may walk the id index backwards for a rare
    word: fine on 20,000 messages, a full scan at 1,000,000. Measured in bench/README.md.

    1. The newest RECENT_WINDOW_PER_RESULT * limit messages in scope (_recent_ids: a bounded walk of
       the (chat, seq) index per chat) are filtered by `q`. Enough matches there: that is the page.
    2. Otherwise the GIN indexes find the matches older than that window. ORDER BY id + 0 leaves the
       planner no index that yields id order, so no plan that stops early after a backward walk;
       among full answers, the GIN bitmap is by far the cheapest for anything rarer than ~1 in 20.
       The chat ids are given as constants (not a membership subquery), so the planner sees how
       big each chat is instead of repeating the index scans once per chat.
    """
    chat_ids = [chat_id] if chat_id is not None else chat_ids_for_user(user=user)
    if not chat_ids:
        return []
    # Substrings through the trigram index, so from 3 characters only.
    match = Q(content__icontains=text) if len(text) >= SUBSTRING_MIN_LENGTH else Q()
    document = _SimpleTsVector("content")
    if words:
        match = Q(document=SearchQuery(_prefix_tsquery(words), config="simple", search_type="raw")) | match
    window_size = RECENT_WINDOW_PER_RESULT * limit
    window = _recent_ids(chat_ids=chat_ids, size=window_size)
    recent = [pk for pk in window if before_id is None or pk < before_id]
    page: list[Message] = []
    if recent:
        # One array parameter, not a thousand placeholders.
        candidates = Message.objects.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (recent,)))
        page = list(candidates.alias(document=document).filter(match).order_by("-pk")[:limit])
    if len(page) < limit and len(window) == window_size:
        # Every message in scope newer than the window's oldest is in the window: look below it only.
        below = window[-1] if before_id is None else min(window[-1], before_id)
        older = (
            Message.objects.filter(chat_id__in=chat_ids, deleted_at__isnull=True, pk__lt=below)
            .alias(document=document, newest=F("pk") + 0)
            .filter(match)
            .order_by("-newest")
        )
        page += list(older[: limit - len(page)])
    return page


def _recent_ids(*, chat_ids: list[int], size: int) -> list[int]:
    """Ids of the newest `size` undeleted messages of these chats, newest first.

    For each chat, its newest `size` by seq (a backward walk of the unique (chat, seq) index, read no
    further); of those, the newest `size` by id. Within a chat seq and id grow together (both are
    taken under the chat lock, see message_send), so this is exactly the newest `size` by id. The
    cost is at most `size` index entries per chat.
    """
    table = Message._meta.db_table
    sql = f"""
        SELECT w.id FROM unnest(%(chat_ids)s::bigint[]) AS c(chat_id)
        CROSS JOIN LATERAL (
            SELECT m.id FROM {table} m
            WHERE m.chat_id = c.chat_id AND m.deleted_at IS NULL
            ORDER BY m.seq DESC LIMIT %(size)s
        ) w
        ORDER BY w.id DESC LIMIT %(size)s
    """  # noqa: S608 - the table name from the model, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, {"chat_ids": chat_ids, "size": size})
        return [row[0] for row in cursor.fetchall()]


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
