"""Message search: full-text prefixes and substrings in the user's chats."""

import re

from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import F, Func, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.models import User
from chatproject.fields import BIGINT_MAX
from chats.access import member_check
from chats.models import ChatMember
from chats.selectors import chat_ids_for_user
from messaging.errors import InvalidSearchQueryError
from messaging.models import Message
from messaging.selectors.history import DEFAULT_PAGE_SIZE, clamp_limit, messages_load_details

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
    messages_load_details(page, viewer=user)
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
