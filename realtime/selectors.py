"""What a socket reads from the database: its state at connect, replay windows and change frames.

Plain sync functions; the consumer and the commands run them through realtime.threads.in_db_thread.
"""

from typing import Any

from accounts.models import User
from accounts.selectors import user_is_active
from chats.selectors import chat_cursors_for_user
from messaging.payloads import message_change_event, message_payload
from messaging.selectors import messages_after, messages_changed
from realtime.protocol import ServerEvent


def connect_state(user: User) -> tuple[bool, dict[int, int]]:
    """(is the account still active, {chat id: last seq}) for a socket about to open."""
    return user_is_active(user_id=user.pk), chat_cursors_for_user(user=user)


def message_window(
    user: User, chat_id: int, after_seq: int, through_seq: int, limit: int
) -> list[dict[str, Any]]:
    """Payloads of the chat's messages in (after_seq, through_seq], oldest first, at most `limit`."""
    return [
        message_payload(m)
        for m in messages_after(
            chat_id=chat_id, user=user, after_seq=after_seq, through_seq=through_seq, limit=limit
        )
    ]


def change_frames(
    user: User, chat_id: int, since_version: int, limit: int
) -> list[tuple[ServerEvent, dict[str, Any]]]:
    """(event, payload) for each change after since_version: tombstones as message_deleted."""
    return [
        message_change_event(m)
        for m in messages_changed(
            chat_id=chat_id,
            user=user,
            since_version=since_version,
            limit=limit,
            mark_mine=False,
            max_limit=limit,
        )
    ]
