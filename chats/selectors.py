"""Chat reads: membership checks, the chat list, a chat's members."""

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Count, F
from django.db.models.functions import Coalesce

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.errors import NotChatMemberError
from chats.models import Chat, ChatMember
from messaging.models import Message


def chat_get_for_member(*, chat_id: int, user: User) -> Chat:
    """The chat, if `user` is a member of it.

    Raises NotChatMemberError (403) when the chat is missing or not the user's: the same answer for both.
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    chat = Chat.objects.filter(pk=chat_id, memberships__user=user).first()
    if chat is None:
        raise NotChatMemberError()
    return chat


def member_check(*, chat_id: int, user: User) -> None:
    """Return quietly when `user` is a member of the chat (one index-only lookup).

    Raises NotChatMemberError.
    """
    if not is_bigint_id(chat_id) or not ChatMember.objects.filter(chat_id=chat_id, user=user).exists():
        raise NotChatMemberError()


def membership_get(*, chat_id: int, user: User) -> ChatMember:
    """The user's membership row of the chat, with the chat loaded.

    Raises NotChatMemberError.
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    member = ChatMember.objects.select_related("chat").filter(chat_id=chat_id, user=user).first()
    if member is None:
        raise NotChatMemberError()
    return member


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

    Raises NotChatMemberError when `user` is not one of them.
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    members = list(
        ChatMember.objects.filter(chat_id=chat_id).select_related("chat", "user").order_by("joined_at", "id")
    )
    if not any(member.user_id == user.pk for member in members):
        raise NotChatMemberError()
    return members[0].chat, members


@dataclass(frozen=True)
class ChatListEntry:
    """One chat of a user's list, with what the list shows about it."""

    chat: Chat
    last_read_seq: int
    last_message: Message | None

    @property
    def unread_count(self) -> int:
        """Messages after the user's read marker (their own sends move the marker)."""
        return max(self.chat.last_seq - self.last_read_seq, 0)


def chat_list_for_user(*, user: User) -> list[ChatListEntry]:
    """Every chat of the user, most recently active first, in three queries whatever their number.

    Activity is the newest message's time, or the creation time for a chat without messages.
    """
    memberships = list(
        ChatMember.objects.filter(user=user)
        .select_related("chat")
        .order_by(Coalesce("chat__last_message_at", "chat__created_at").desc(), "-chat_id")
    )
    last_messages: dict[int, Message] = {}
    if any(member.chat.last_seq for member in memberships):
        # The newest message of every chat at once: (chat_id, seq = chat.last_seq) is one probe of the
        # unique (chat, seq) index per chat.
        newest = list(
            Message.objects.filter(
                chat__memberships__user=user, seq=F("chat__last_seq"), deleted_at__isnull=True
            )
        )
        # Imported here: messaging.selectors imports this module (member_check).
        from messaging.selectors import attachments_attach

        attachments_attach(newest)  # one more query for all chats' last messages
        last_messages = {message.chat_id: message for message in newest}
    return [
        ChatListEntry(
            chat=member.chat,
            last_read_seq=member.last_read_seq,
            last_message=last_messages.get(member.chat_id),
        )
        for member in memberships
    ]
