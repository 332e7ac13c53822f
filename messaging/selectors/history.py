"""Message history: pages and catch-up, for members only.

Every query here is a range scan of the unique (chat_id, seq) index: the newest page walks it
backwards from the end, before_seq from a point backwards, after_seq from a point forwards.
"""

import functools
from typing import Any

from django.db import connection

from accounts.models import User
from chatproject.fields import BIGINT_MAX
from chats.access import member_check
from messaging.access import access_message
from messaging.attachments.selectors import attachments_attach
from messaging.models import Message
from messaging.selectors.reactions import reactions_attach

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def clamp_limit(limit: int, maximum: int = MAX_PAGE_SIZE) -> int:
    """Page sizes over `maximum` (MAX_PAGE_SIZE) shrink to it; below 1 grow to 1."""
    return max(1, min(limit, maximum))


def message_history(
    *,
    chat_id: int,
    user: User,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
    before_seq: int | None = None,
    after_seq: int | None = None,
    around_seq: int | None = None,
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
    if around_seq is not None:
        page = _around(chat_id, min(around_seq, BIGINT_MAX), limit)
        messages_load_details(page, viewer=user if mark_mine else None)
        return page
    # Deleted messages stay as tombstones (deleted: true, empty content), so seqs stay gap-free.
    where, params = ["chat_id = %s"], [chat_id]
    if before_seq is not None:
        where.append("seq < %s")
        params.append(min(before_seq, BIGINT_MAX))
    if after_seq is not None:
        where.append("seq > %s")
        params.append(min(after_seq, BIGINT_MAX))
    offset = min(max(offset, 0), BIGINT_MAX - limit)
    order = "seq" if after_seq is not None else "seq DESC"
    page = _page(
        f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s OFFSET %s", [*params, limit, offset]
    )
    messages_load_details(page, viewer=user if mark_mine else None)
    return page


def _around(chat_id: int, seq: int, limit: int) -> list[Message]:
    """Up to `limit` messages around `seq`, oldest first: limit // 2 newer ones, the rest older (`seq`
    included); when one side runs out, more of the other. Two index scans from `seq`, each at most
    `limit` rows."""
    older = _page(
        f"{_SELECT} WHERE chat_id = %s AND seq <= %s ORDER BY seq DESC LIMIT %s", [chat_id, seq, limit]
    )
    newer = _page(f"{_SELECT} WHERE chat_id = %s AND seq > %s ORDER BY seq LIMIT %s", [chat_id, seq, limit])
    take_newer = min(len(newer), max(limit // 2, limit - len(older)))
    take_older = min(len(older), limit - take_newer)
    return [*reversed(older[:take_older]), *newer[:take_newer]]


# A page as one plain statement, its rows made into Message instances the way the ORM does it
# (Model.from_db): a queryset's build and compile cost more than the query itself (bench/README.md).
# The same rows, the same (chat_id, seq) index scan.
_FIELDS = [field.attname for field in Message._meta.concrete_fields]
_SELECT = (
    f"SELECT {', '.join(field.column for field in Message._meta.concrete_fields)} "  # noqa: S608 - names only
    f"FROM {Message._meta.db_table}"
)


def _page(sql: str, params: list[int]) -> list[Message]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = _converters(connection.vendor)
    if converters:  # SQLite's datetimes and booleans; PostgreSQL's columns need none
        rows = [_converted(row, converters) for row in rows]
    return [Message.from_db(connection.alias, _FIELDS, row) for row in rows]


@functools.cache
def _converters(vendor: str) -> list[tuple[int, Any, list[Any]]]:
    """Per column, the converters the ORM's compiler would apply to it (backend's, then the field's)."""
    found = []
    for index, field in enumerate(Message._meta.concrete_fields):
        column = field.get_col(Message._meta.db_table)
        each = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if each:
            found.append((index, column, each))
    return found


def _converted(row: tuple[Any, ...], converters: list[tuple[int, Any, list[Any]]]) -> tuple[Any, ...]:
    values = list(row)
    for index, column, each in converters:
        for convert in each:
            values[index] = convert(values[index], column, connection)
    return tuple(values)


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


def messages_window(*, chat_id: int, after_seq: int, through_seq: int, limit: int) -> list[Message]:
    """The chat's messages with after_seq < seq <= through_seq, oldest first, at most `limit`, details loaded.

    No member check: for a process's own gap repair (realtime.layer.ordering), whose messages go only to
    the sockets of the chat's group, as their broadcast would have.
    """
    page = _page(
        f"{_SELECT} WHERE chat_id = %s AND seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
        [chat_id, min(after_seq, BIGINT_MAX), min(through_seq, BIGINT_MAX), max(limit, 1)],
    )
    messages_load_details(page)
    return page


def messages_load_details(messages: list[Message], *, viewer: User | None = None) -> None:
    """Load what message_payload shows besides the rows (attachments, reaction counts) for a page at once.

    At most two queries whatever the page size, none for messages that never carried an attachment or
    changed. With `viewer`, each reaction count also says whether the viewer is among it.
    """
    reactions_attach(messages, viewer=viewer)
    attachments_attach(messages)


def message_get_for_member(*, message_id: int, user: User) -> Message:
    """One message of a chat the user is a member of (tombstones included), ready for its payload.

    Reaction counts say which are the user's.

    Raises MessageNotFoundError for a missing message and for one in a chat the user is not in alike.
    """
    message = access_message(message_id=message_id, user=user)
    messages_load_details([message], viewer=user)
    return message
