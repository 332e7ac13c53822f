"""Group membership: adding, removing and promoting members, ownership hand-over."""

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.access import MANAGER_ROLES, access_chat_to_manage
from chats.errors import (
    CannotRemoveMemberError,
    InvalidRoleError,
    MemberNotFoundError,
    NotChatAdminError,
    OwnerRoleChangeError,
    PrivateChatMembershipError,
)
from chats.models import Chat, ChatMember
from chats.payloads import chat_payload
from chats.services.participants import _lock_active_users, _require_active_users, _unique
from realtime.broadcast import broadcast_on_commit
from realtime.groups import chat_group
from realtime.protocol.event_types import ServerEvent


@transaction.atomic
def member_add(*, chat_id: int, actor: User, user_ids: list[int]) -> list[ChatMember]:
    """Add users to a group chat as members; users already in it are skipped. Returns the new rows.

    The actor is an owner or admin of the chat, or holds `chats.add_chatmember` (a moderator, who need
    not be a member). Locks the chat row. Raises NotChatMemberError, ChatNotFoundError (moderator),
    PrivateChatMembershipError, NotChatAdminError, UserNotFoundError (nothing is added).
    Broadcasts `member_added` for each new member (realtime.broadcast routes it to the chat and to them).
    """
    ids = _unique(user_ids)
    # User rows before the chat row, the order sends and user deletion lock in.
    active = _lock_active_users(ids)
    chat, actor_member = access_chat_to_manage(
        chat_id=chat_id, actor=actor, permission="chats.add_chatmember"
    )
    if chat.type == Chat.Type.PRIVATE:
        raise PrivateChatMembershipError()
    if actor_member is not None and actor_member.role not in MANAGER_ROLES:
        raise NotChatAdminError()
    _require_active_users(ids, field="user_ids", found=active)
    present = set(ChatMember.objects.filter(chat=chat, user_id__in=ids).values_list("user_id", flat=True))
    added = ChatMember.objects.bulk_create(
        [ChatMember(chat=chat, user_id=uid, role=ChatMember.Role.MEMBER) for uid in ids if uid not in present]
    )
    payload = chat_payload(chat)
    for member in added:
        event = {"chat": payload, "user_id": member.user_id}
        broadcast_on_commit(chat_group(chat.pk), ServerEvent.MEMBER_ADDED, event)
    return added


def _hand_over_ownership(chat: Chat) -> ChatMember | None:
    """Make the longest-standing admin, else the longest-standing member, the owner (chat row locked)."""
    successor = (
        ChatMember.objects.filter(chat=chat)
        .order_by(
            Case(
                When(role=ChatMember.Role.ADMIN, then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            "joined_at",
            "id",
        )
        .first()
    )
    if successor is not None:
        successor.role = ChatMember.Role.OWNER
        successor.save(update_fields=["role"])
    return successor


@transaction.atomic
def member_remove(*, chat_id: int, actor: User, user_id: int) -> None:
    """Remove `user_id` from a group chat, or leave it when `user_id` is the actor.

    The owner (and a holder of `chats.delete_chatmember`, who need not be a member) may remove anyone,
    an admin plain members only. A removed or leaving owner hands ownership to the longest-standing
    admin, else the longest-standing member. Locks the chat row.
    Raises NotChatMemberError, ChatNotFoundError (moderator), PrivateChatMembershipError, NotChatAdminError,
    CannotRemoveMemberError, MemberNotFoundError. Broadcasts `member_removed` to the chat group and to
    the removed user's group.
    """
    chat, actor_member = access_chat_to_manage(
        chat_id=chat_id, actor=actor, permission="chats.delete_chatmember"
    )
    if chat.type == Chat.Type.PRIVATE:
        raise PrivateChatMembershipError()
    if actor_member is not None and user_id == actor.pk:
        target = actor_member
    else:
        if actor_member is not None and actor_member.role not in MANAGER_ROLES:
            raise NotChatAdminError()
        found = (
            ChatMember.objects.filter(chat=chat, user_id=user_id).first() if is_bigint_id(user_id) else None
        )
        if found is None:
            raise MemberNotFoundError()
        if (
            actor_member is not None
            and actor_member.role == ChatMember.Role.ADMIN
            and found.role != ChatMember.Role.MEMBER
        ):
            raise CannotRemoveMemberError()
        target = found
    target.delete()
    if target.role == ChatMember.Role.OWNER:
        _hand_over_ownership(chat)
    event = {"chat_id": chat.pk, "user_id": user_id}
    broadcast_on_commit(chat_group(chat.pk), ServerEvent.MEMBER_REMOVED, event)


@transaction.atomic
def member_set_role(*, chat_id: int, actor: User, user_id: int, role: str) -> ChatMember:
    """Set a group member's role (owner, admin or member); returns the membership.

    Only the owner may do it, or a holder of `chats.change_chatmember`, who need not be a member.
    A group keeps exactly one owner: making someone the owner makes the previous owner an admin,
    and the owner's own role cannot be lowered directly (make another member the owner instead).
    Unchanged roles are a no-op. Locks the chat row. Raises NotChatMemberError, ChatNotFoundError
    (moderator), PrivateChatMembershipError, NotChatAdminError, InvalidRoleError, MemberNotFoundError,
    OwnerRoleChangeError. Broadcasts `member_updated {chat_id, user_id, role}` to the chat group for
    every membership whose role changed.
    """
    chat, actor_member = access_chat_to_manage(
        chat_id=chat_id, actor=actor, permission="chats.change_chatmember"
    )
    if chat.type == Chat.Type.PRIVATE:
        raise PrivateChatMembershipError()
    if actor_member is not None and actor_member.role != ChatMember.Role.OWNER:
        raise NotChatAdminError()
    if role not in ChatMember.Role.values:
        raise InvalidRoleError()
    target = ChatMember.objects.filter(chat=chat, user_id=user_id).first() if is_bigint_id(user_id) else None
    if target is None:
        raise MemberNotFoundError()
    if target.role == role:
        return target
    if target.role == ChatMember.Role.OWNER:
        raise OwnerRoleChangeError()
    changed = [target]
    if role == ChatMember.Role.OWNER:
        previous = list(ChatMember.objects.filter(chat=chat, role=ChatMember.Role.OWNER))
        for member in previous:
            member.role = ChatMember.Role.ADMIN
            member.save(update_fields=["role"])
        changed = [*previous, target]
    target.role = role
    target.save(update_fields=["role"])
    for member in changed:
        event = {"chat_id": chat.pk, "user_id": member.user_id, "role": member.role}
        broadcast_on_commit(chat_group(chat.pk), ServerEvent.MEMBER_UPDATED, event)
    return target
