"""Account writes of the account itself: rename, ban, unban, deletion."""

from django.db import transaction

from accounts.models import User
from accounts.sessions import (
    refresh_tokens_revoke,
)
from chats.models import Chat, ChatMember
from chats.services import member_remove
from messaging.models import Message, Reaction
from messaging.services import messages_erase_for_deleted_user
from realtime.events import broadcast_on_commit
from realtime.groups import user_group
from realtime.protocol import ServerEvent


@transaction.atomic
def user_rename(*, user: User, username: str) -> User:
    """Set the user's display name (the rule is accounts.serializers.username_field; names are not unique)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.username = username
    user.save(update_fields=["username"])
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Ban: deactivate, blacklist every outstanding refresh token, close every socket of the user.

    Access tokens stop working at once because authentication reads `is_active` on each use.
    Broadcasts `account_disabled` to the user's group (sockets close with 4403).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])  # the model's rule ends the sessions (accounts.lifecycle)
    return user


@transaction.atomic
def user_reactivate(*, user: User) -> User:
    """Unban: the user may log in again (old refresh tokens stay revoked)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete an account without rewriting anyone else's history; one transaction.

    The deletion itself does the work, whatever path deletes the user (this service, the admin,
    Model.delete() or QuerySet.delete() in a shell): a pre_delete receiver (accounts.lifecycle) runs
    user_erase first. Deleting a user that is already gone (a concurrent or repeated delete) does nothing.
    """
    User.objects.filter(pk=user.pk).delete()


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
