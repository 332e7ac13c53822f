"""Chats themselves: creating private and group chats, renaming them."""

from django.db import IntegrityError, transaction

from accounts.models import User
from chats.access import MANAGER_ROLES, access_chat
from chats.errors import (
    ChatNotGroupError,
    InvalidChatNameError,
    NotChatAdminError,
    PrivateChatWithSelfError,
)
from chats.models import Chat, ChatMember
from chats.payloads import chat_payload
from chats.services.participants import _require_active_users, _unique
from realtime.broadcast import broadcast_on_commit
from realtime.groups import chat_group, user_group
from realtime.protocol.event_types import ServerEvent

NAME_MAX_LENGTH = 255


def _clean_name(name: str) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(name) > NAME_MAX_LENGTH:
        raise InvalidChatNameError()
    return text


@transaction.atomic
def chat_create_private(*, user: User, other_user_id: int) -> tuple[Chat, bool]:
    """Return the private chat of `user` and `other_user_id`, creating it if needed: (chat, created).

    Race-safe from either side: the unique private_key decides, and the loser of a concurrent
    creation reads the winner's chat. Raises PrivateChatWithSelfError, UserNotFoundError.
    Broadcasts `chat_created` to both users when created.
    """
    if other_user_id == user.pk:
        raise PrivateChatWithSelfError()
    _require_active_users([other_user_id], field="user_id")
    key = Chat.private_key_for(user.pk, other_user_id)
    existing = Chat.objects.filter(private_key=key).first()
    if existing is not None:
        return existing, False
    try:
        # A savepoint, so losing the race leaves this transaction usable for the read below.
        with transaction.atomic():
            chat = Chat.objects.create(type=Chat.Type.PRIVATE, private_key=key, created_by=user)
            ChatMember.objects.bulk_create(
                [ChatMember(chat=chat, user=user), ChatMember(chat=chat, user_id=other_user_id)]
            )
    except IntegrityError:
        winner = Chat.objects.filter(private_key=key).first()
        if winner is None:  # a different constraint failed (e.g. the other user was just deleted)
            raise
        return winner, False
    for uid in (user.pk, other_user_id):
        broadcast_on_commit(user_group(uid), ServerEvent.CHAT_CREATED, chat_payload(chat))
    return chat, True


@transaction.atomic
def chat_create_group(*, creator: User, name: str, participant_ids: list[int]) -> Chat:
    """Create a group chat: the creator as owner, the (de-duplicated) participants as members.

    Raises InvalidChatNameError, UserNotFoundError (nothing is created). Broadcasts `chat_created`
    to every member.
    """
    clean_name = _clean_name(name)
    others = [uid for uid in _unique(participant_ids) if uid != creator.pk]
    _require_active_users(others, field="participants")
    chat = Chat.objects.create(type=Chat.Type.GROUP, name=clean_name, created_by=creator)
    ChatMember.objects.bulk_create(
        [ChatMember(chat=chat, user=creator, role=ChatMember.Role.OWNER)]
        + [ChatMember(chat=chat, user_id=uid, role=ChatMember.Role.MEMBER) for uid in others]
    )
    payload = chat_payload(chat)
    for uid in [creator.pk, *others]:
        broadcast_on_commit(user_group(uid), ServerEvent.CHAT_CREATED, payload)
    return chat


@transaction.atomic
def chat_rename(*, chat_id: int, actor: User, name: str) -> Chat:
    """Rename a group chat (owner or admin). Locks the chat row.

    Raises NotChatMemberError, ChatNotGroupError, NotChatAdminError, InvalidChatNameError.
    Broadcasts `chat_updated` to the chat group when the name changes.
    """
    chat = access_chat(chat_id=chat_id, user=actor, lock=True)
    actor_member = ChatMember.objects.get(chat=chat, user=actor)
    if chat.type != Chat.Type.GROUP:
        raise ChatNotGroupError()
    if actor_member.role not in MANAGER_ROLES:
        raise NotChatAdminError()
    clean_name = _clean_name(name)
    if clean_name != chat.name:
        chat.name = clean_name
        chat.save(update_fields=["name"])
        broadcast_on_commit(chat_group(chat.pk), ServerEvent.CHAT_UPDATED, chat_payload(chat))
    return chat
