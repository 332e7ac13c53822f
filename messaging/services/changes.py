"""Changes to sent messages: edits, deletions (tombstones) and reactions.

Every change runs under its chat's row lock (the lock message_send takes) and stamps the message with the
chat's next change counter value (Chat.last_version), so a client that missed events asks for "messages
with version > mine" and gets every change, in commit order.
"""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chats.models import Chat
from messaging.access import access_message, actor_lock_active, message_check_deletable
from messaging.attachments.services import attachments_erase_for_message
from messaging.budget import react_budget, send_budget
from messaging.errors import InvalidEmojiError, MessageDeletedError, NotMessageAuthorError
from messaging.models import REACTION_EMOJI_MAX_LENGTH, Message, Reaction
from messaging.payloads import message_deleted_payload, message_payload, reaction_event_payload
from messaging.selectors import messages_load_details
from messaging.text import is_emoji_text, message_text_clean
from realtime.broadcast import broadcast_on_commit
from realtime.groups import chat_group
from realtime.protocol.event_types import ServerEvent


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
    text = message_text_clean(content)
    with send_budget(user_id=editor.pk) as spend:
        actor_lock_active(editor)
        message = access_message(message_id=message_id, user=editor, lock=True)
        if message.sender_id != editor.pk:
            raise NotMessageAuthorError()
        if message.deleted_at is not None:
            raise MessageDeletedError()
        if text == message.content:
            spend.refund()  # nothing changes, so it costs nothing
            messages_load_details([message])
            return message
        message.content = text
        message.edited_at = timezone.now()
        message.version = _next_version(message.chat)
        message.save(update_fields=["content", "edited_at", "version"])
    messages_load_details([message])
    broadcast_on_commit(chat_group(message.chat_id), ServerEvent.MESSAGE_UPDATED, message_payload(message))
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
    actor_lock_active(actor)
    message = access_message(message_id=message_id, user=actor, lock=True, moderating=True)
    message_check_deletable(message=message, actor=actor)
    if message.deleted_at is not None:
        _tombstone_details(message)
        return message
    _erase_extras(message)
    message.content = ""
    message.deleted_at = timezone.now()
    message.version = _next_version(message.chat)
    message.save(update_fields=["content", "deleted_at", "version"])
    _tombstone_details(message)
    broadcast_on_commit(
        chat_group(message.chat_id), ServerEvent.MESSAGE_DELETED, message_deleted_payload(message)
    )
    return message


def _tombstone_details(message: Message) -> None:
    """A tombstone shows no reactions and no attachments (deletion erased both): set so, no query."""
    message.reaction_counts = []
    message.attachment_list = []


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
    constraint backs the check made under the chat lock. Spends one unit of the user's THROTTLE_REACT
    budget (messaging.budget), a no-op too (it still takes the chat lock); a refused one spends none.
    Returns the message ready for its payload, its reaction counts marking the user's own. Raises
    InvalidEmojiError, RateLimitedError (budget spent, with retry_after), MessageNotFoundError,
    MessageDeletedError.
    """
    emoji = _check_emoji(emoji)
    with react_budget(user_id=user.pk):
        actor_lock_active(user)
        message = access_message(message_id=message_id, user=user, lock=True)
        if message.deleted_at is not None:
            raise MessageDeletedError()
        if not Reaction.objects.filter(message=message, user=user, emoji=emoji).exists():
            Reaction.objects.create(message=message, user=user, emoji=emoji)
            _reaction_changed(message.chat, message, user=user, emoji=emoji, event=ServerEvent.REACTION_ADDED)
    messages_load_details([message], viewer=user)
    return message


@transaction.atomic
def reaction_remove(*, message_id: int, user: User, emoji: str) -> Message:
    """Remove the user's `emoji` from a message and broadcast `reaction_removed` once committed.

    Removing a reaction the user does not have is a no-op (no broadcast). Spends one unit of the user's
    THROTTLE_REACT budget as reaction_add does. Returns the message ready for its payload, its reaction
    counts marking the user's own. Raises InvalidEmojiError, RateLimitedError, MessageNotFoundError.
    """
    emoji = _check_emoji(emoji)
    with react_budget(user_id=user.pk):
        actor_lock_active(user)
        message = access_message(message_id=message_id, user=user, lock=True)
        removed, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
        if removed:
            _reaction_changed(
                message.chat, message, user=user, emoji=emoji, event=ServerEvent.REACTION_REMOVED
            )
    messages_load_details([message], viewer=user)
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
