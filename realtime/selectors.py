"""What a socket reads from the database: its state at connect, replay windows and change frames.

Plain sync functions; the consumer and the commands run them through realtime.threads.in_db_thread.
"""

from typing import Any

from accounts.models import User
from accounts.sessions import Session, session_is_current
from chats.selectors import chat_cursors_for_user
from messaging.payloads import message_change_event, message_payload
from messaging.selectors import messages_after, messages_changed, messages_window
from realtime.protocol import frames
from realtime.protocol.event_types import ServerEvent


def connect_state(user: User, session: Session | None) -> tuple[int | None, dict[int, int]]:
    """(the close code that refuses the socket, or None; {chat id: last seq}) for a socket about to open.

    Read now, after the socket joined its user group: a ban (4403) or a password change in another
    session (4410) that committed since the handshake authenticated reached no socket of this one.
    """
    current = User.objects.filter(pk=user.pk, is_active=True).first()
    if current is None:
        return frames.CLOSE_ACCOUNT_DISABLED, {}
    if session is not None and not session_is_current(user=current, session=session):
        return frames.CLOSE_SESSION_REVOKED, {}
    return None, chat_cursors_for_user(user=user)


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


def chat_window(chat_id: int, after_seq: int, through_seq: int, limit: int) -> list[dict[str, Any]]:
    """Payloads of the chat's messages in (after_seq, through_seq], oldest first, at most `limit`: a
    process's gap repair for every local socket of the chat at once (realtime.layer.ordering)."""
    return [
        message_payload(m)
        for m in messages_window(chat_id=chat_id, after_seq=after_seq, through_seq=through_seq, limit=limit)
    ]
