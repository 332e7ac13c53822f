"""Who may reach a chat and manage it: the chats app's one home for membership and role checks.

Zulip's `access_stream_by_id` habit: services and selectors that take a chat id from a client get
the chat (or the caller's membership) through here. A missing chat and a chat the user is not in
get the same answer, NotChatMemberError, so nobody learns which chats exist.
"""

from django.db import connection

from accounts.models import User
from chatproject.fields import is_bigint_id
from chats.errors import ChatNotFoundError, NotChatMemberError
from chats.models import Chat, ChatMember

MANAGER_ROLES = frozenset({ChatMember.Role.OWNER, ChatMember.Role.ADMIN})


def access_chat(*, chat_id: int, user: User, lock: bool = False) -> Chat:
    """The chat, if `user` is a member of it; with `lock`, its row locked (needs an open transaction).

    Raises NotChatMemberError when the chat is missing or not the user's: the same answer for both.
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    chats = Chat.objects.filter(pk=chat_id, memberships__user=user)
    if lock:
        chats = chats.select_for_update(of=("self",))
    chat = chats.first()
    if chat is None:
        raise NotChatMemberError()
    return chat


def access_membership(*, chat_id: int, user: User, lock: bool = False) -> ChatMember:
    """The user's membership row of the chat, with the chat loaded; with `lock`, the membership row locked.

    Raises NotChatMemberError.
    """
    if not is_bigint_id(chat_id):
        raise NotChatMemberError()
    members = ChatMember.objects.select_related("chat").filter(chat_id=chat_id, user=user)
    if lock:
        members = members.select_for_update(of=("self",))
    member = members.first()
    if member is None:
        raise NotChatMemberError()
    return member


_IS_MEMBER_SQL = f"SELECT 1 FROM {ChatMember._meta.db_table} WHERE chat_id = %s AND user_id = %s"  # noqa: S608 - table name only


def is_chat_member(*, chat_id: int, user: User) -> bool:
    """Whether `user` is a member of the chat (one index-only lookup).

    A plain statement: building and compiling a queryset for .exists() costs more than the lookup, and
    this runs on nearly every request (bench/README.md has the profile).
    """
    if not is_bigint_id(chat_id):
        return False
    with connection.cursor() as cursor:
        cursor.execute(_IS_MEMBER_SQL, [chat_id, user.pk])
        return cursor.fetchone() is not None


def member_check(*, chat_id: int, user: User) -> None:
    """Return quietly when `user` is a member of the chat (one index-only lookup).

    Raises NotChatMemberError.
    """
    if not is_chat_member(chat_id=chat_id, user=user):
        raise NotChatMemberError()


def is_chat_manager(*, chat_id: int, user: User) -> bool:
    """Whether `user` is an owner or admin of the chat (one lookup)."""
    role = ChatMember.objects.filter(chat_id=chat_id, user=user).values_list("role", flat=True).first()
    return role in MANAGER_ROLES


def can_manage_members(user: User, *, permission: str) -> bool:
    """Whether `user` may change the members of any group without being in it: the model `permission`.

    The permissions the admin's member inlines require (`chats.add_chatmember`, `chats.change_chatmember`,
    `chats.delete_chatmember`), so the admin, REST and WebSocket decide alike; `is_staff` alone grants nothing.
    """
    return user.is_active and user.has_perm(permission)


def access_chat_to_manage(*, chat_id: int, actor: User, permission: str) -> tuple[Chat, ChatMember | None]:
    """Lock the chat row for a membership change: (chat, the actor's membership), or (chat, None) for a moderator.

    A holder of `permission` (can_manage_members) reaches any chat and is not held to role rules;
    anyone else must be a member, and the caller checks their role. Needs an open transaction.
    Raises ChatNotFoundError (moderator, missing chat), NotChatMemberError.
    """
    if not can_manage_members(actor, permission=permission):
        chat = access_chat(chat_id=chat_id, user=actor, lock=True)
        return chat, ChatMember.objects.get(chat=chat, user=actor)
    found = (
        Chat.objects.select_for_update(of=("self",)).filter(pk=chat_id).first()
        if is_bigint_id(chat_id)
        else None
    )
    if found is None:
        raise ChatNotFoundError()
    return found, None
