"""Who may reach a message and act on it: messaging's one home for membership, authorship and moderator rules.

Zulip's `access_message` habit: every service and selector that takes a message id from a client
gets the message through `access_message`, which answers a missing message and one the user may not
see alike (MessageNotFoundError), and decides from the acting user alone, never from a transport.
"""

from accounts.errors import AccountDisabledError
from accounts.models import User
from accounts.selectors import user_lock_active
from chatproject.fields import is_bigint_id
from chats.access import is_chat_manager
from chats.models import Chat
from messaging.errors import MessageNotFoundError, NotMessageModeratorError
from messaging.models import Message


def actor_lock_active(user: User) -> None:
    """Refuse a banned or deleted actor; needs an open transaction and locks the user row (no key).

    The User the transport holds was read at the handshake or request: a ban may have committed since.
    Taken before any chat lock (a ban or user deletion locks the user row first too).
    Raises AccountDisabledError.
    """
    if not user_lock_active(user_id=user.pk):
        raise AccountDisabledError()


def can_moderate_messages(user: User) -> bool:
    """Whether `user` may delete anyone's message in any chat: the `messaging.delete_message` permission."""
    return user.is_active and user.has_perm("messaging.delete_message")


def access_message(*, message_id: int, user: User, lock: bool = False, moderating: bool = False) -> Message:
    """The message, if `user` may reach it: a member of its chat, or with `moderating` a message moderator.

    With `lock`, the chat row is locked first and the message read under that lock (needs an open
    transaction): every change to a message holds this lock, so the copy returned stays current, and
    `message.chat` is the locked row. Without it, one query. `moderating` lets a holder of
    `messaging.delete_message` reach messages of chats they are not in. Raises MessageNotFoundError
    for a missing message and for one the user may not reach alike.
    """
    if not is_bigint_id(message_id):
        raise MessageNotFoundError()
    any_chat = moderating and can_moderate_messages(user)
    if not lock:
        messages = Message.objects.filter(pk=message_id)
        if not any_chat:
            messages = messages.filter(chat__memberships__user=user)
        found = messages.first()
        if found is None:
            raise MessageNotFoundError()
        return found
    chat_id = Message.objects.filter(pk=message_id).values_list("chat_id", flat=True).first()
    if chat_id is None:
        raise MessageNotFoundError()
    chats = Chat.objects.select_for_update(of=("self",)).filter(pk=chat_id)
    if not any_chat:
        chats = chats.filter(memberships__user=user)
    chat = chats.first()
    message = Message.objects.filter(pk=message_id).first() if chat is not None else None
    if chat is None or message is None:
        raise MessageNotFoundError()
    message.chat = chat
    return message


def message_check_deletable(*, message: Message, actor: User) -> None:
    """Allow deleting `message` to its sender, an owner or admin of its group chat, and message moderators.

    The one rule for REST, WebSocket and the admin (the `is_staff` flag alone grants nothing).
    Raises NotMessageModeratorError.
    """
    if message.sender_id == actor.pk or can_moderate_messages(actor):
        return
    if message.chat.type != Chat.Type.GROUP or not is_chat_manager(chat_id=message.chat_id, user=actor):
        raise NotMessageModeratorError()
