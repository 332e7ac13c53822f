"""A chat's seqs and its members' read markers: the send path's statements and `read`."""

from datetime import datetime

from django.db import connection, transaction

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.access import access_membership
from chats.errors import (
    InvalidReadSeqError,
    NotChatMemberError,
)
from chats.models import Chat, ChatMember
from chats.payloads import read_event_payload
from realtime.broadcast import broadcast_on_commit
from realtime.groups import chat_group
from realtime.protocol.event_types import ServerEvent

_TAKE_NEXT_SEQ_SQL = (
    f"UPDATE {Chat._meta.db_table} SET last_seq = last_seq + 1, last_message_at = %s "  # noqa: S608 - table names only
    f"WHERE id = %s AND EXISTS (SELECT 1 FROM {ChatMember._meta.db_table} WHERE chat_id = %s AND user_id = %s) "
    "RETURNING last_seq"
)


_READ_OWN_SEND_SQL = (
    f"UPDATE {ChatMember._meta.db_table} SET last_read_seq = %s "  # noqa: S608 - table names only
    "WHERE chat_id = %s AND user_id = %s AND last_read_seq < %s"
)


def chat_take_next_seq(*, chat_id: int, user: User, now: datetime) -> int:
    """Lock the chat row, check `user` is a member and take the chat's next seq; needs an open transaction.

    One statement does what SELECT ... FOR UPDATE and an UPDATE did in two round trips: the UPDATE
    holds the row lock until commit, so concurrent senders get 1, 2, 3, ... with no gap, and the
    membership check is part of the same statement. Also moves last_message_at to `now`.
    Raises NotChatMemberError (missing chat and not-a-member alike).
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_NEXT_SEQ_SQL, [now, chat_id, chat_id, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise NotChatMemberError()
    return int(row[0])


def member_read_own_send(*, chat_id: int, user: User, seq: int) -> None:
    """Move the sender's read marker to their own new message: your own message is not unread.

    For messaging's message_send, in its transaction (it holds the chat row lock); no broadcast, as the
    `new_message` itself tells the sender's sockets.
    """
    # One statement without a queryset: this runs on every send (bench/README.md has the profile).
    with connection.cursor() as cursor:
        cursor.execute(_READ_OWN_SEND_SQL, [seq, chat_id, user.pk, seq])


@transaction.atomic
def chat_mark_read(*, chat_id: int, user: User, seq: int) -> int:
    """Move the user's read marker forward to `seq` (never backwards); return the marker.

    Locks the user's membership row only. Raises NotChatMemberError, InvalidReadSeqError (seq < 0 or
    after the newest message). Broadcasts `read` to the chat group when the marker moves.
    """
    member = access_membership(chat_id=chat_id, user=user, lock=True)
    if seq < 0 or seq > member.chat.last_seq:
        raise InvalidReadSeqError()
    if seq > member.last_read_seq:
        member.last_read_seq = seq
        member.save(update_fields=["last_read_seq"])
        broadcast_on_commit(
            chat_group(chat_id),
            ServerEvent.READ,
            read_event_payload(chat_id=chat_id, user_id=user.pk, seq=seq),
        )
    return member.last_read_seq
