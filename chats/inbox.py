"""The inbox: a user's chat list with each chat's unread count and last message.

It reads both chats and messages, so it lives above both: chats.selectors and messaging know nothing
of it, and no import cycle joins the two apps' selectors.
"""

from dataclasses import dataclass

from django.db.models import F
from django.db.models.functions import Coalesce

from accounts.models import User
from chats.models import Chat, ChatMember
from chats.selectors import unread_count
from messaging.models import Message
from messaging.selectors import messages_load_details


@dataclass(frozen=True)
class ChatListEntry:
    """One chat of a user's list, with what the list shows about it."""

    chat: Chat
    last_read_seq: int
    last_message: Message | None

    @property
    def unread_count(self) -> int:
        """Messages after the user's read marker (their own sends move the marker)."""
        return unread_count(last_seq=self.chat.last_seq, last_read_seq=self.last_read_seq)


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
        # Attachments and reactions for all chats' last messages at once (none when none carry any).
        messages_load_details(newest)
        last_messages = {message.chat_id: message for message in newest}
    return [
        ChatListEntry(
            chat=member.chat,
            last_read_seq=member.last_read_seq,
            last_message=last_messages.get(member.chat_id),
        )
        for member in memberships
    ]
