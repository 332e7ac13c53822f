"""Sending a message: gap-free per-chat sequence numbers, idempotent retries, the send budget."""

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from chatproject import metrics
from chatproject.fields import is_bigint_id
from chats.services import chat_take_next_seq, member_read_own_send
from messaging.access import actor_lock_active
from messaging.attachments.services import attachment_ids_check, attachments_claim
from messaging.budget import send_budget
from messaging.errors import InvalidClientIdError, InvalidReplyError
from messaging.models import CLIENT_ID_MAX_LENGTH, Message
from messaging.payloads import message_payload
from messaging.selectors import messages_load_details
from messaging.text import message_text_clean
from realtime.broadcast import broadcast_on_commit
from realtime.groups import chat_group
from realtime.protocol.event_types import ServerEvent

_REPEAT_SQL = (
    f"SELECT id FROM {Message._meta.db_table} "  # noqa: S608 - table names only
    "WHERE chat_id = %s AND sender_id = %s AND client_id = %s"
)


class _RepeatedSendError(Exception):
    """A send repeated with its client_id: its transaction rolls back and the original answers it."""

    def __init__(self, original: Message) -> None:
        super().__init__()
        self.original = original


def message_send(
    *,
    chat_id: int,
    sender: User,
    content: str,
    client_id: str | None = None,
    reply_to: int | None = None,
    attachment_ids: list[int] | None = None,
) -> Message:
    """Store a message with the chat's next seq and broadcast `new_message` once committed.

    One transaction (a savepoint inside a caller's). The chat row is locked by taking the seq
    (chats.services.chat_take_next_seq), so seqs are 1, 2, 3, ... with no gap or duplicate and the
    membership check holds until commit. The sender's read marker moves to the new message.
    With `client_id`, a repeat by the same sender in the same chat returns the original message and
    broadcasts nothing. `attachment_ids` are the sender's uploads that no message carries yet; they
    become this message's (all or none). Each stored message spends one unit of the sender's
    THROTTLE_SEND budget (messaging.budget); a repeat or a failure spends none. Raises
    MessageTooLongError, MessageEmptyError, InvalidClientIdError, RateLimitedError (budget spent, with
    retry_after), NotChatMemberError, InvalidReplyError, InvalidAttachmentError, AccountDisabledError
    (a banned or deleted sender, checked under a lock on the user row).
    """
    text = message_text_clean(content)
    attachment_ids = attachment_ids_check(attachment_ids)
    if client_id is not None and not 1 <= len(client_id) <= CLIENT_ID_MAX_LENGTH:
        raise InvalidClientIdError()
    with send_budget(user_id=sender.pk) as spend:
        try:
            with transaction.atomic():
                return _store_message(
                    chat_id=chat_id,
                    sender=sender,
                    text=text,
                    client_id=client_id,
                    reply_to=reply_to,
                    attachment_ids=attachment_ids,
                )
        except _RepeatedSendError as repeat:
            spend.refund()  # a repeat stores nothing, so it costs nothing
            messages_load_details([repeat.original])
            repeat.original.repeated = True
            repeat.original.send_payload = message_payload(repeat.original)
            return repeat.original


def _store_message(
    *,
    chat_id: int,
    sender: User,
    text: str,
    client_id: str | None,
    reply_to: int | None,
    attachment_ids: list[int],
) -> Message:
    """message_send's writes, in its transaction. Raises _RepeatedSendError for a repeated client_id."""
    actor_lock_active(sender)
    now = timezone.now()
    seq = chat_take_next_seq(chat_id=chat_id, user=sender, now=now)
    if client_id is not None:
        # Under the chat lock a concurrent repeat has either committed (found here) or not started;
        # the partial unique index on (chat, sender, client_id) backs this up. Found: the seq just
        # taken goes back with the rollback, so the chat keeps no gap.
        with connection.cursor() as cursor:  # no queryset: most sends carry a client_id
            cursor.execute(_REPEAT_SQL, [chat_id, sender.pk, client_id])
            repeat = cursor.fetchone()
        if repeat is not None:
            raise _RepeatedSendError(Message.objects.get(pk=repeat[0]))
    if reply_to is not None and not (
        is_bigint_id(reply_to)
        and Message.objects.filter(pk=reply_to, chat_id=chat_id, deleted_at__isnull=True).exists()
    ):
        raise InvalidReplyError()
    message = Message.objects.create(
        chat_id=chat_id,
        sender=sender,
        seq=seq,
        content=text,
        created_at=now,
        client_id=client_id,
        reply_to_id=reply_to,
        has_attachments=bool(attachment_ids),
    )
    attachments_claim(message=message, uploader=sender, attachment_ids=attachment_ids)
    message.reaction_counts = []  # a new message has none
    member_read_own_send(chat_id=chat_id, user=sender, seq=seq)
    # One payload for the broadcast and the caller's answer (message.send_payload): built once per send.
    message.send_payload = message_payload(message)
    broadcast_on_commit(chat_group(chat_id), ServerEvent.NEW_MESSAGE, message.send_payload)
    transaction.on_commit(metrics.message_sent, robust=True)
    return message
