"""Chat writes: creating chats, managing members, renaming, read markers.

Every service that changes a chat's membership or name locks the chat row first (select_for_update),
the same lock messaging.services.message_send takes: membership changes and sends are serialised per
chat, so a removed member cannot slip a message in after removal, and locks are always taken chat
row first, then member rows (no deadlock between these services).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, IntegerField, Value, When

from accounts.errors import UserNotFoundError
from accounts.models import User
from accounts.selectors import users_lock_active
from chatproject.fields import is_bigint_id
from chats.access import MANAGER_ROLES, access_chat, access_chat_to_manage, access_membership
from chats.errors import (
    CannotRemoveMemberError,
    ChatNotGroupError,
    InvalidChatNameError,
    InvalidReadSeqError,
    InvalidRoleError,
    MemberNotFoundError,
    NotChatAdminError,
    NotChatMemberError,
    OwnerRoleChangeError,
    PrivateChatMembershipError,
    PrivateChatWithSelfError,
)
from chats.models import Chat, ChatMember
from chats.payloads import chat_payload, read_event_payload
from realtime.events import broadcast_on_commit
from realtime.groups import chat_group, user_group
from realtime.protocol import ServerEvent

NAME_MAX_LENGTH = 255


_TAKE_NEXT_SEQ_SQL = (
    f"UPDATE {Chat._meta.db_table} SET last_seq = last_seq + 1, last_message_at = %s "  # noqa: S608 - table names only
    f"WHERE id = %s AND EXISTS (SELECT 1 FROM {ChatMember._meta.db_table} WHERE chat_id = %s AND user_id = %s) "
    "RETURNING last_seq"
)


_READ_OWN_SEND_SQL = (
    f"UPDATE {ChatMember._meta.db_table} SET last_read_seq = %s "  # noqa: S608 - table names only
    "WHERE chat_id = %s AND user_id = %s AND last_read_seq < %s"
)


def chat_take_next_seq(*, chat_id: int, user: User, now: datetime) -> int:
    """Lock the chat row, check `user` is a member and take the chat's next seq; needs an open transaction.

    One statement does what SELECT ... FOR UPDATE and an UPDATE did in two round trips: the UPDATE
    holds the row lock until commit, so concurrent senders get 1, 2, 3, ... with no gap, and the
    membership check is part of the same statement. Also moves last_message_at to `now`.
    Raises NotChatMemberError (missing chat and not-a-member alike).
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_NEXT_SEQ_SQL, [now, chat_id, chat_id, user.pk])
        row = cursor.fetchone()
    if row is None:
        raise NotChatMemberError()
    return int(row[0])


def member_read_own_send(*, chat_id: int, user: User, seq: int) -> None:
    """Move the sender's read marker to their own new message: your own message is not unread.

    For messaging's message_send, in its transaction (it holds the chat row lock); no broadcast, as the
    `new_message` itself tells the sender's sockets.
    """
    # One statement without a queryset: this runs on every send (py-spy: a tenth of message_send).
    with connection.cursor() as cursor:
        cursor.execute(_READ_OWN_SEND_SQL, [seq, chat_id, user.pk, seq])


def _clean_name(name: str) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(name) > NAME_MAX_LENGTH:
        raise InvalidChatNameError()
    return text


def _unique(ids: Iterable[int]) -> list[int]:
    """De-duplicate, keeping the first occurrence's order."""
    return list(dict.fromkeys(ids))


def _lock_active_users(user_ids: list[int]) -> set[int]:
    """The ids in `user_ids` that are active users, their rows locked (accounts.selectors.users_lock_active)."""
    return users_lock_active(user_ids=[uid for uid in user_ids if is_bigint_id(uid)])


def _require_active_users(user_ids: list[int], *, field: str, found: set[int] | None = None) -> None:
    """Raise UserNotFoundError naming every id in `field` that is not an active user.

    `found` is what _lock_active_users returned, when the caller locked them earlier; else they are
    locked now. A user being deleted meanwhile is waited for and then not found (404, not a 500 from
    the new row's foreign key).
    """
    if found is None:
        found = _lock_active_users(user_ids)
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        raise UserNotFoundError(
            f"user not found: {', '.join(map(str, missing))}", fields={field: [str(uid) for uid in missing]}
        )


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
def member_add(*, chat_id: int, actor: User, user_ids: list[int]) -> list[ChatMember]:
    """Add users to a group chat as members; users already in it are skipped. Returns the new rows.

    The actor is an owner or admin of the chat, or holds `chats.add_chatmember` (a moderator, who need
    not be a member). Locks the chat row. Raises NotChatMemberError, ChatNotFoundError (moderator),
    PrivateChatMembershipError, NotChatAdminError, UserNotFoundError (nothing is added).
    Broadcasts `member_added` for each new member (realtime.events routes it to the chat and to them).
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


@transaction.atomic
def chat_mark_read(*, chat_id: int, user: User, seq: int) -> int:
    """Move the user's read marker forward to `seq` (never backwards); return the marker.

    Locks the user's membership row only. Raises NotChatMemberError, InvalidReadSeqError (seq < 0 or
    after the newest message). Broadcasts `read` to the chat group when the marker moves.
    """
    member = access_membership(chat_id=chat_id, user=user, lock=True)
    if seq < 0 or seq > member.chat.last_seq:
        raise InvalidReadSeqError()
    if seq > member.last_read_seq:
        member.last_read_seq = seq
        member.save(update_fields=["last_read_seq"])
        broadcast_on_commit(
            chat_group(chat_id),
            ServerEvent.READ,
            read_event_payload(chat_id=chat_id, user_id=user.pk, seq=seq),
        )
    return member.last_read_seq
