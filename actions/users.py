"""Deleting a user: the steps in chats, messaging and realtime that every deletion of a user runs first.

A pre_delete receiver, so Model.delete() and QuerySet.delete() pass it as the service does (the admin's
delete, a shell): the user's messages become tombstones with their seq kept, their reactions are taken
back, they leave their groups, their refresh tokens are blacklisted, and their sockets close with 4403
once committed.
"""

from typing import Any

from django.db.models.signals import pre_delete

from accounts.models import User
from accounts.sessions import refresh_tokens_revoke
from chats.models import Chat, ChatMember
from chats.services import member_remove
from messaging.models import Message, Reaction
from messaging.services import messages_erase_for_deleted_user
from realtime.broadcast import broadcast_on_commit
from realtime.groups import user_group
from realtime.protocol.event_types import ServerEvent


def user_erase(*, user: User) -> None:
    """Everything a deletion of `user` does before the row goes; in the deleting transaction.

    Locks the user row (FOR UPDATE: writes of the user in flight commit first, later ones are
    refused), then: every message of the user becomes a tombstone with `sender_id` null, its seq kept
    (messaging.services.messages_erase_for_deleted_user); their reactions are taken back; they leave
    every group chat as if they had left (ownership is handed over, `member_removed` broadcast);
    their refresh tokens are blacklisted. The row's deletion then cascades to their remaining private
    chat memberships, unsent uploads (files once committed) and WebSocket tickets. Private chats stay,
    with the other member and the tombstones. Access tokens stop at once (the user is gone), and
    `account_disabled` closes every open socket of the user with 4403 once committed. A user already
    gone is left alone.
    """
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None:
        return
    user = locked
    # Every chat this touches, locked up front in id order: the steps below lock them again in their
    # own order, and two deletions locking overlapping chats in different orders could deadlock.
    touched = (
        set(ChatMember.objects.filter(user=user).values_list("chat_id", flat=True))
        | set(Message.objects.filter(sender=user).values_list("chat_id", flat=True))
        | set(Reaction.objects.filter(user=user).values_list("message__chat_id", flat=True))
    )
    list(Chat.objects.select_for_update().filter(pk__in=touched).order_by("pk").values_list("pk", flat=True))
    messages_erase_for_deleted_user(user=user)
    groups = ChatMember.objects.filter(user=user, chat__type=Chat.Type.GROUP)
    for chat_id in sorted(groups.values_list("chat_id", flat=True)):
        member_remove(chat_id=chat_id, actor=user, user_id=user.pk)
    refresh_tokens_revoke(user)
    broadcast_on_commit(user_group(user.pk), ServerEvent.ACCOUNT_DISABLED, {"user_id": user.pk})


def user_deleting(sender: type[User], instance: User, **kwargs: Any) -> None:
    """pre_delete of a user: erase their history and end their sessions in the delete's transaction."""
    user_erase(user=instance)


def connect_signals() -> None:
    """Run user_deleting before every deletion of a user (ActionsConfig.ready)."""
    pre_delete.connect(user_deleting, sender=User, dispatch_uid="accounts-user-deleting")
