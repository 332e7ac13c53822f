"""Message writes: sending, with gap-free per-chat sequence numbers and idempotent retries;
editing, deleting (tombstones) and reactions, each numbered by the chat's change counter.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.errors import AccountDisabledError
from accounts.models import User
from accounts.selectors import user_lock_active
from chatproject.fields import is_bigint_id
from chats.models import Chat, ChatMember
from chats.services import MANAGER_ROLES, chat_take_next_seq
from messaging.budget import send_budget
from messaging.errors import (
    AttachmentEmptyError,
    AttachmentTooLargeError,
    AttachmentTypeError,
    InvalidAttachmentError,
    InvalidClientIdError,
    InvalidEmojiError,
    InvalidReplyError,
    MessageDeletedError,
    MessageEmptyError,
    MessageNotFoundError,
    MessageTooLongError,
    NotMessageAuthorError,
    NotMessageModeratorError,
)
from messaging.models import CLIENT_ID_MAX_LENGTH, REACTION_EMOJI_MAX_LENGTH, Attachment, Message, Reaction
from messaging.payloads import message_deleted_payload, message_payload, reaction_event_payload
from messaging.selectors import attachments_attach
from messaging.text import is_blank, is_emoji_text
from messaging.uploads import EXTENSIONS, clean_filename, sniff_content_type
from realtime.events import broadcast_on_commit
from realtime.groups import chat_group
from realtime.protocol import ServerEvent


def _lock_active_actor(user: User) -> None:
    """Refuse a banned or deleted actor; needs an open transaction and locks the user row (no key).

    The User the transport holds was read at the handshake or request: a ban may have committed since.
    Taken before any chat lock (a ban or user deletion locks the user row first too).
    Raises AccountDisabledError.
    """
    if not user_lock_active(user_id=user.pk):
        raise AccountDisabledError()


def _check_content(content: str) -> str:
    """The text to store: `content` without surrounding whitespace."""
    limit = settings.MESSAGE_MAX_LENGTH
    # The limit applies to what the client sent, as the OpenAPI maxLength says.
    if len(content) > limit:
        raise MessageTooLongError(f"message content is too long (at most {limit} characters)")
    text = content.strip()
    # Only invisible characters (zero-width, bidi controls, lone variation selectors) is empty too.
    if is_blank(text):
        raise MessageEmptyError()
    return text


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
    text = _check_content(content)
    attachment_ids = _check_attachment_ids(attachment_ids)
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
    _lock_active_actor(sender)
    now = timezone.now()
    seq = chat_take_next_seq(chat_id=chat_id, user=sender, now=now)
    if client_id is not None:
        # Under the chat lock a concurrent repeat has either committed (found here) or not started;
        # the partial unique index on (chat, sender, client_id) backs this up. Found: the seq just
        # taken goes back with the rollback, so the chat keeps no gap.
        original = Message.objects.filter(chat_id=chat_id, sender=sender, client_id=client_id).first()
        if original is not None:
            raise _RepeatedSendError(original)
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
    _attachments_attach(message=message, uploader=sender, attachment_ids=attachment_ids)
    # Your own message is not unread: sending reads the chat up to it.
    ChatMember.objects.filter(chat_id=chat_id, user=sender, last_read_seq__lt=seq).update(last_read_seq=seq)
    broadcast_on_commit(chat_group(chat_id), ServerEvent.NEW_MESSAGE, message_payload(message))
    return message


# --- edits, deletions, reactions -------------------------------------------------------------------
# Every change to an existing message runs under its chat's row lock (the lock message_send takes) and
# stamps the message with the chat's next change counter value (Chat.last_version), so a client that
# missed events asks for "messages with version > mine" and gets every change, in commit order.


def _lock_message(*, message_id: int, actor: User, any_chat: bool = False) -> tuple[Chat, Message]:
    """Lock the message's chat row, then read the message under that lock; needs an open transaction.

    The actor must be a member of the chat, unless `any_chat` (a moderator deleting). Raises
    MessageNotFoundError for a missing message and for one in a chat the actor is not in alike.
    """
    if not is_bigint_id(message_id):
        raise MessageNotFoundError()
    chat_id = Message.objects.filter(pk=message_id).values_list("chat_id", flat=True).first()
    if chat_id is None:
        raise MessageNotFoundError()
    chats = Chat.objects.select_for_update(of=("self",)).filter(pk=chat_id)
    if not any_chat:
        chats = chats.filter(memberships__user=actor)
    chat = chats.first()
    # Re-read under the lock: every change to a message holds this lock, so this copy stays current.
    message = Message.objects.filter(pk=message_id).first() if chat is not None else None
    if chat is None or message is None:
        raise MessageNotFoundError()
    return chat, message


def can_moderate_messages(user: User) -> bool:
    """Whether `user` may delete anyone's message in any chat: the `messaging.delete_message` permission."""
    return user.is_active and user.has_perm("messaging.delete_message")


def _next_version(chat: Chat) -> int:
    """Take the chat's next change counter value; the caller holds the chat row lock."""
    version = chat.last_version + 1
    Chat.objects.filter(pk=chat.pk).update(last_version=version)
    chat.last_version = version
    return version


def _erase_extras(message: Message) -> None:
    """Erase what a deleted message carries besides its text: reactions, attachments. Needs the chat lock.

    Rows go in the caller's transaction; stored files once it commits (a rollback keeps them).
    """
    Reaction.objects.filter(message=message).delete()
    attachments_erase_for_message(message)


@transaction.atomic
def message_edit(*, message_id: int, editor: User, content: str) -> Message:
    """Replace a message's text (sender only) and broadcast `message_updated` once committed.

    Same content rules as message_send. Unchanged text is a no-op (no broadcast). Locks the chat row.
    An applied edit spends one unit of the editor's THROTTLE_SEND budget, shared with sends.
    Raises MessageTooLongError, MessageEmptyError, RateLimitedError, MessageNotFoundError (also for a
    chat the editor is not in), NotMessageAuthorError, MessageDeletedError.
    """
    text = _check_content(content)
    with send_budget(user_id=editor.pk) as spend:
        _lock_active_actor(editor)
        chat, message = _lock_message(message_id=message_id, actor=editor)
        if message.sender_id != editor.pk:
            raise NotMessageAuthorError()
        if message.deleted_at is not None:
            raise MessageDeletedError()
        if text == message.content:
            spend.refund()  # nothing changes, so it costs nothing
            return message
        message.content = text
        message.edited_at = timezone.now()
        message.version = _next_version(chat)
        message.save(update_fields=["content", "edited_at", "version"])
    broadcast_on_commit(chat_group(chat.pk), ServerEvent.MESSAGE_UPDATED, message_payload(message))
    return message


@transaction.atomic
def message_delete(*, message_id: int, actor: User) -> Message:
    """Soft-delete a message and broadcast `message_deleted` once committed; returns the tombstone.

    Allowed for the sender, an owner or admin of the (group) chat, and holders of the
    `messaging.delete_message` permission (the Moderators group; they need not be members). The one
    rule for REST, WebSocket and the admin: decided here from the actor, never from a transport (the
    `is_staff` flag alone grants nothing). The row stays with its seq, so history and cursors do not
    move: content is erased, reactions and attachments removed (their files once committed),
    deleted_at set. Deleting again returns the tombstone and broadcasts nothing. Locks the chat row.
    Raises MessageNotFoundError (also for a chat the actor is not in), NotMessageModeratorError.
    """
    _lock_active_actor(actor)
    moderator = can_moderate_messages(actor)
    chat, message = _lock_message(message_id=message_id, actor=actor, any_chat=moderator)
    if message.sender_id != actor.pk and not moderator:
        role = ChatMember.objects.filter(chat=chat, user=actor).values_list("role", flat=True).first()
        if chat.type != Chat.Type.GROUP or role not in MANAGER_ROLES:
            raise NotMessageModeratorError()
    if message.deleted_at is not None:
        return message
    _erase_extras(message)
    message.content = ""
    message.deleted_at = timezone.now()
    message.version = _next_version(chat)
    message.save(update_fields=["content", "deleted_at", "version"])
    broadcast_on_commit(chat_group(chat.pk), ServerEvent.MESSAGE_DELETED, message_deleted_payload(message))
    return message


def messages_erase_for_deleted_user(*, user: User) -> int:
    """Make every message of `user` a tombstone without a sender, and take back their reactions.

    For accounts.services.user_delete, which holds the user row lock (FOR UPDATE); needs its
    transaction. Chats are locked one at a time in id order, after the user row, as message_send
    does. Each message keeps its id and seq, loses content, reactions and attachments (files once
    committed) and its sender, and takes the chat's next change version, so change feeds and resume
    see it; each of the user's reactions on other messages is removed the same way. Broadcasts
    `message_deleted` and `reaction_removed` once committed. Returns how many messages were erased.
    """
    authored = Message.objects.filter(sender=user)
    reacted = Reaction.objects.filter(user=user)
    chat_ids = sorted(
        set(authored.values_list("chat_id", flat=True))
        | set(reacted.values_list("message__chat_id", flat=True))
    )
    now = timezone.now()
    erased = 0
    for chat_id in chat_ids:
        chat = Chat.objects.select_for_update(of=("self",)).get(pk=chat_id)
        for reaction in reacted.filter(message__chat_id=chat_id).select_related("message").order_by("pk"):
            message = reaction.message
            reaction.delete()
            if message.sender_id != user.pk:
                _reaction_changed(
                    chat, message, user=user, emoji=reaction.emoji, event=ServerEvent.REACTION_REMOVED
                )
        for message in authored.filter(chat_id=chat_id).order_by("seq"):
            _erase_extras(message)
            message.sender = None
            message.content = ""
            message.deleted_at = message.deleted_at or now
            message.version = _next_version(chat)
            message.save(update_fields=["sender", "content", "deleted_at", "version"])
            broadcast_on_commit(
                chat_group(chat.pk), ServerEvent.MESSAGE_DELETED, message_deleted_payload(message)
            )
            erased += 1
    return erased


def _check_emoji(emoji: str) -> str:
    if (
        not isinstance(emoji, str)
        or not 1 <= len(emoji) <= REACTION_EMOJI_MAX_LENGTH
        # No controls or lone surrogates (PostgreSQL cannot store NUL), nothing invisible, and format
        # characters only where emoji sequences use them (U+200D between emoji, flag tags).
        or not is_emoji_text(emoji)
    ):
        raise InvalidEmojiError()
    return emoji


@transaction.atomic
def reaction_add(*, message_id: int, user: User, emoji: str) -> Message:
    """Add the user's `emoji` to a message and broadcast `reaction_added` once committed.

    Adding a reaction the user already has is a no-op (no broadcast); the unique (message, user, emoji)
    constraint backs the check made under the chat lock. Raises InvalidEmojiError, MessageNotFoundError,
    MessageDeletedError.
    """
    emoji = _check_emoji(emoji)
    _lock_active_actor(user)
    chat, message = _lock_message(message_id=message_id, actor=user)
    if message.deleted_at is not None:
        raise MessageDeletedError()
    if Reaction.objects.filter(message=message, user=user, emoji=emoji).exists():
        return message
    Reaction.objects.create(message=message, user=user, emoji=emoji)
    _reaction_changed(chat, message, user=user, emoji=emoji, event=ServerEvent.REACTION_ADDED)
    return message


@transaction.atomic
def reaction_remove(*, message_id: int, user: User, emoji: str) -> Message:
    """Remove the user's `emoji` from a message and broadcast `reaction_removed` once committed.

    Removing a reaction the user does not have is a no-op (no broadcast). Raises InvalidEmojiError,
    MessageNotFoundError.
    """
    emoji = _check_emoji(emoji)
    _lock_active_actor(user)
    chat, message = _lock_message(message_id=message_id, actor=user)
    removed, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
    if removed:
        _reaction_changed(chat, message, user=user, emoji=emoji, event=ServerEvent.REACTION_REMOVED)
    return message


def _reaction_changed(chat: Chat, message: Message, *, user: User, emoji: str, event: ServerEvent) -> None:
    """Stamp the message with the next change version and broadcast the reaction event."""
    message.version = _next_version(chat)
    message.save(update_fields=["version"])
    count = Reaction.objects.filter(message=message, emoji=emoji).count()
    broadcast_on_commit(
        chat_group(chat.pk),
        event,
        reaction_event_payload(message, user_id=user.pk, emoji=emoji, count=count),
    )


# --- attachments -----------------------------------------------------------------------------------


def attachment_upload(*, uploader: User, file: UploadedFile) -> Attachment:
    """Store an uploaded file for the uploader's next message; its type is sniffed from the content.

    The file is written to storage first, then its row in a transaction of its own; if the row
    cannot be written the file is deleted again (a write cannot be rolled back like a row). Raises
    AttachmentTooLargeError, AttachmentEmptyError, AttachmentTypeError.
    """
    limit = settings.ATTACHMENT_MAX_BYTES
    if file.size is None or file.size > limit:
        raise AttachmentTooLargeError(f"file is too large (at most {limit} bytes)")
    if file.size == 0:
        raise AttachmentEmptyError()
    content_type = sniff_content_type(file)
    if content_type is None:
        raise AttachmentTypeError()
    attachment = Attachment(
        uploader=uploader,
        filename=clean_filename(file.name or "", content_type),
        content_type=content_type,
        size=file.size,
    )
    attachment.file.save(uuid.uuid4().hex + EXTENSIONS[content_type], file, save=False)
    try:
        with transaction.atomic():
            attachment.save()
    except BaseException:
        attachment.file.delete(save=False)
        raise
    return attachment


def _check_attachment_ids(attachment_ids: list[int] | None) -> list[int]:
    """The distinct ids, in order; at most ATTACHMENTS_PER_MESSAGE. Raises InvalidAttachmentError."""
    ids = list(dict.fromkeys(attachment_ids or []))
    if not all(is_bigint_id(attachment_id) for attachment_id in ids):
        raise InvalidAttachmentError()
    if len(ids) > settings.ATTACHMENTS_PER_MESSAGE:
        raise InvalidAttachmentError(f"at most {settings.ATTACHMENTS_PER_MESSAGE} attachments per message")
    return ids


def _attachments_attach(*, message: Message, uploader: User, attachment_ids: list[int]) -> None:
    """Give the uploads to a new message; needs the caller's transaction, which fails whole if one is not free.

    One conditional UPDATE decides: an upload that is not the uploader's, already carried by a message
    (a concurrent send waits for the row lock, then sees message_id set) or removed by the cleanup is
    not matched, the count falls short, and the send rolls back. Raises InvalidAttachmentError.
    """
    if attachment_ids:
        attached = Attachment.objects.filter(
            pk__in=attachment_ids, uploader=uploader, message__isnull=True
        ).update(message=message)
        if attached != len(attachment_ids):
            raise InvalidAttachmentError()
    # Both payloads (broadcast and answer) read them from here: one query, or none without uploads.
    if attachment_ids:
        attachments_attach([message])
    else:
        _no_attachments(message)


def _no_attachments(message: Message) -> None:
    """Record on the instance that it has no attachments, as attachments_attach would (no query)."""
    message.attachment_list = []  # type: ignore[attr-defined]


def attachments_erase_for_message(message: Message) -> int:
    """Delete a message's attachments (for deletion): rows now, in the caller's transaction; files once it commits.

    Returns how many were deleted. The message's payload afterwards lists none.
    """
    deleted, _ = Attachment.objects.filter(message=message).delete()
    _no_attachments(message)
    return deleted


def attachments_cleanup_unsent(*, older_than: timedelta, batch_size: int = 500) -> int:
    """Delete uploads that no message carries, created more than `older_than` ago; returns how many.

    Works in batches, each in its own transaction. Rows a concurrent send is attaching are locked by its
    UPDATE and skipped (SKIP LOCKED); a send that comes after a batch's delete finds its upload gone
    and fails with InvalidAttachmentError instead of carrying a deleted file. Files go on commit.
    """
    cutoff = timezone.now() - older_than
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Attachment.objects.select_for_update(skip_locked=True)
                .filter(message__isnull=True, created_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            deleted, _ = Attachment.objects.filter(pk__in=ids, message__isnull=True).delete()
        total += deleted
