"""Chat reads: the user's chats and cursors, a chat's members (access checks are in chats.access)."""

from collections.abc import Collection

from django.db.models import Count

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.access import can_manage_members
from chats.errors import NotChatMemberError
from chats.models import Chat, ChatMember


def unread_count(*, last_seq: int, last_read_seq: int) -> int:
    """Messages after a read marker: the chat's last seq minus the marker, never below 0 (own sends move it)."""
    return max(last_seq - last_read_seq, 0)


def chat_ids_for_user(*, user: User) -> list[int]:
    """Ids of every chat the user is a member of."""
    return list(ChatMember.objects.filter(user=user).values_list("chat_id", flat=True))


def chat_cursors_for_user(*, user: User) -> dict[int, int]:
    """{chat id: the chat's last seq} for every chat the user is a member of: where a new socket starts."""
    return dict(ChatMember.objects.filter(user=user).values_list("chat_id", "chat__last_seq"))


def chat_last_seq_for_member(*, chat_id: int, user: User) -> int | None:
    """The chat's last seq if the user is a member, else None (a socket subscribing to a chat it joined)."""
    return (
        ChatMember.objects.filter(chat_id=chat_id, user=user).values_list("chat__last_seq", flat=True).first()
    )


def chat_ids_for_user_id(*, user_id: int) -> list[int]:
    """Ids of every chat of the user with this id (for code that holds only the id, e.g. presence)."""
    return list(ChatMember.objects.filter(user_id=user_id).values_list("chat_id", flat=True))


def chat_ids_with_members_at_most(*, chat_ids: Collection[int], max_members: int) -> list[int]:
    """Of these chats, those with at most `max_members` members (one grouped scan of the member index)."""
    if not chat_ids:
        return []
    return list(
        ChatMember.objects.filter(chat_id__in=list(chat_ids))
        .values("chat_id")
        .annotate(members=Count("id"))
        .filter(members__lte=max_members)
        .values_list("chat_id", flat=True)
    )


def chat_members(*, chat_id: int, user: User) -> tuple[Chat, list[ChatMember]]:
    """The chat and all its members (oldest first, users loaded), in one query.

    For its members, and for holders of `chats.view_chatmember` (moderators, who see every chat's
    members in the admin too, and get this answer after adding members to a chat they are not in).
    Raises NotChatMemberError for anyone else.
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    members = list(
        ChatMember.objects.filter(chat_id=chat_id).select_related("chat", "user").order_by("joined_at", "id")
    )
    # The permission is asked only of non-members, so members pay no permission queries.
    if not any(member.user_id == user.pk for member in members) and not (
        members and can_manage_members(user, permission="chats.view_chatmember")
    ):
        raise NotChatMemberError()
    return members[0].chat, members
