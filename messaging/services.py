"""Message writes: sending, with gap-free per-chat sequence numbers and idempotent retries."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.models import Chat, ChatMember
from chats.services import chat_lock_for_member
from messaging.errors import InvalidClientIdError, InvalidReplyError, MessageEmptyError, MessageTooLongError
from messaging.models import CLIENT_ID_MAX_LENGTH, Message
from messaging.payloads import message_payload
from realtime.events import broadcast_on_commit
from realtime.groups import chat_group


def _check_content(content: str) -> str:
    """The text to store: `content` without surrounding whitespace."""
    limit = settings.MESSAGE_MAX_LENGTH
    # The limit applies to what the client sent, as the OpenAPI maxLength says.
    if len(content) > limit:
        raise MessageTooLongError(f"message content is too long (at most {limit} characters)")
    text = content.strip()
    if not text:
        raise MessageEmptyError()
    return text


@transaction.atomic
def message_send(
    *,
    chat_id: int,
    sender: User,
    content: str,
    client_id: str | None = None,
    reply_to: int | None = None,
) -> Message:
    """Store a message with the chat's next seq and broadcast `new_message` once committed.

    Locks the chat row (SELECT ... FOR UPDATE), so seqs are 1, 2, 3, ... with no gap or duplicate
    and the membership check holds until commit. The sender's read marker moves to the new message.
    With `client_id`, a repeat by the same sender in the same chat returns the original message and
    broadcasts nothing. Raises MessageTooLongError, MessageEmptyError, InvalidClientIdError,
    NotChatMemberError, InvalidReplyError.
    """
    text = _check_content(content)
    if client_id is not None and not 1 <= len(client_id) <= CLIENT_ID_MAX_LENGTH:
        raise InvalidClientIdError()
    chat = chat_lock_for_member(chat_id=chat_id, user=sender)
    if client_id is not None:
        # Under the chat lock a concurrent repeat has either committed (found here) or not started;
        # the partial unique index on (chat, sender, client_id) backs this up.
        original = Message.objects.filter(chat=chat, sender=sender, client_id=client_id).first()
        if original is not None:
            return original
    if reply_to is not None and not (
        is_bigint_id(reply_to)
        and Message.objects.filter(pk=reply_to, chat=chat, deleted_at__isnull=True).exists()
    ):
        raise InvalidReplyError()
    now = timezone.now()
    seq = chat.last_seq + 1
    Chat.objects.filter(pk=chat.pk).update(last_seq=seq, last_message_at=now)
    message = Message.objects.create(
        chat=chat,
        sender=sender,
        seq=seq,
        content=text,
        created_at=now,
        client_id=client_id,
        reply_to_id=reply_to,
    )
    # Your own message is not unread: sending reads the chat up to it.
    ChatMember.objects.filter(chat=chat, user=sender, last_read_seq__lt=seq).update(last_read_seq=seq)
    broadcast_on_commit(chat_group(chat.pk), "new_message", message_payload(message))
    return message
