"""The typing rule: a member's `typing` frame reaches the chat at most once per interval, across processes."""

from collections.abc import Collection

from django.core.cache import cache

from chatproject.conf import chat_settings
from chats.errors import NotChatMemberError
from realtime.broadcast import broadcast_now
from realtime.groups import chat_group
from realtime.protocol.event_types import ServerEvent, TypingPayload


async def typing_announce(*, user_id: int, chat_id: int, member_of: Collection[int]) -> bool:
    """Tell chat `chat_id`'s members that the user is typing, at most once per user and chat per
    WS_TYPING_INTERVAL_SECONDS; whether it was sent. `member_of` is the caller's chats (the socket's,
    kept current by member events), so a typing frame costs no query. Raises NotChatMemberError.
    """
    if chat_id not in member_of:
        raise NotChatMemberError()
    # cache.add is atomic in Redis, so the interval holds across sockets and processes.
    if not await cache.aadd(
        f"typing:{user_id}:{chat_id}", 1, timeout=chat_settings.WS_TYPING_INTERVAL_SECONDS
    ):
        return False
    event: TypingPayload = {"chat_id": chat_id, "user_id": user_id}
    await broadcast_now(chat_group(chat_id), ServerEvent.TYPING, event)
    return True
