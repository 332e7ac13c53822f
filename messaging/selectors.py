"""Message reads: history pages and catch-up, for members only.

Every query here is a range scan of the unique (chat_id, seq) index: the newest page walks it
backwards from the end, before_seq from a point backwards, after_seq from a point forwards.
"""

from django.db.models import QuerySet

from accounts.models import User
from chatproject.fields import BIGINT_MAX
from chats.selectors import member_check
from messaging.models import Message

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def clamp_limit(limit: int) -> int:
    """Page sizes over MAX_PAGE_SIZE shrink to it; below 1 grow to 1."""
    return max(1, min(limit, MAX_PAGE_SIZE))


def _visible(chat_id: int) -> QuerySet[Message]:
    return Message.objects.filter(chat_id=chat_id, deleted_at__isnull=True)


def message_history(
    *,
    chat_id: int,
    user: User,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
    before_seq: int | None = None,
    after_seq: int | None = None,
) -> list[Message]:
    """A page of a chat's messages for a member (the selector behind GET /api/messages/get).

    before_seq keeps messages older than it, after_seq messages newer than it (both: the window
    between). The page is oldest first when after_seq is given (catching up), newest first otherwise;
    `offset` skips that many from the start of that order, `limit` (clamped to 1..100) caps it.
    Raises NotChatMemberError.
    """
    member_check(chat_id=chat_id, user=user)
    limit = clamp_limit(limit)
    messages = _visible(chat_id)
    if before_seq is not None:
        messages = messages.filter(seq__lt=min(before_seq, BIGINT_MAX))
    if after_seq is not None:
        messages = messages.filter(seq__gt=min(after_seq, BIGINT_MAX))
    ordered = messages.order_by("seq" if after_seq is not None else "-seq")
    offset = min(max(offset, 0), BIGINT_MAX - limit)
    return list(ordered[offset : offset + limit])


def messages_after(*, chat_id: int, user: User, after_seq: int, limit: int) -> list[Message]:
    """Up to `limit` messages with seq > after_seq, oldest first: how a reconnecting client catches up.

    Raises NotChatMemberError.
    """
    return message_history(chat_id=chat_id, user=user, limit=limit, after_seq=after_seq)
