"""The change feed: what was edited, deleted or reacted to since a version."""

from accounts.models import User
from chatproject.fields import BIGINT_MAX
from chats.access import member_check
from messaging.models import Message
from messaging.selectors.history import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, clamp_limit, messages_load_details


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
    messages_load_details(page, viewer=user if mark_mine else None)
    return page
