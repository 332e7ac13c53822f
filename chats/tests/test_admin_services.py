"""The moderator path of the membership services (the chatmember permissions, no membership) and member_set_role."""

import pytest
from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from chats import services
from chats.errors import (
    ChatNotFoundError,
    InvalidRoleError,
    MemberNotFoundError,
    NotChatAdminError,
    NotChatMemberError,
    OwnerRoleChangeError,
    PrivateChatMembershipError,
)
from chats.models import ChatMember
from chats.tests.factories import group_chat, private_chat
from realtime.groups import chat_group, user_group

pytestmark = pytest.mark.django_db


MEMBER_PERMISSIONS = ("add_chatmember", "change_chatmember", "delete_chatmember")


def moderator(**fields):
    """A staff user holding the chatmember permissions, as the admin's member inlines require."""
    user = UserFactory(is_staff=True, **fields)
    user.user_permissions.add(*Permission.objects.filter(codename__in=MEMBER_PERMISSIONS))
    return user


@pytest.fixture
def staff(db):
    return moderator()


def roles(chat):
    return dict(ChatMember.objects.filter(chat=chat).values_list("user_id", "role"))


# --- member_add / member_remove by a moderator ---------------------------------------------------------------


def test_member_add_by_moderator_adds_without_staff_being_a_member(staff, user, bob):
    chat = group_chat(user)

    added = services.member_add(chat_id=chat.pk, actor=staff, user_ids=[bob.pk])

    assert [m.user_id for m in added] == [bob.pk]
    assert roles(chat) == {user.pk: "owner", bob.pk: "member"}


def test_member_add_by_non_member_without_permission_is_refused(user, bob, carol):
    chat = group_chat(user)

    with pytest.raises(NotChatMemberError):
        services.member_add(chat_id=chat.pk, actor=carol, user_ids=[bob.pk])
    assert bob.pk not in roles(chat)


def test_member_add_by_deactivated_moderator_is_refused(user, bob):
    chat = group_chat(user)
    former = moderator(is_active=False)

    with pytest.raises(NotChatMemberError):
        services.member_add(chat_id=chat.pk, actor=former, user_ids=[bob.pk])


def test_member_add_by_moderator_to_missing_chat_raises_chat_not_found(staff, bob):
    with pytest.raises(ChatNotFoundError):
        services.member_add(chat_id=999_999_999, actor=staff, user_ids=[bob.pk])


def test_member_add_by_moderator_to_private_chat_is_refused(staff, user, bob, carol):
    chat = private_chat(user, bob)

    with pytest.raises(PrivateChatMembershipError):
        services.member_add(chat_id=chat.pk, actor=staff, user_ids=[carol.pk])


def test_member_add_by_staff_without_permission_still_requires_membership(user, bob):
    chat = group_chat(user)
    staff_only = UserFactory(is_staff=True)

    with pytest.raises(NotChatMemberError):
        services.member_add(chat_id=chat.pk, actor=staff_only, user_ids=[bob.pk])


def test_member_remove_by_moderator_removes_the_owner_and_hands_over_ownership(staff, user, bob, carol):
    chat = group_chat(user, carol, admins=(bob,))

    services.member_remove(chat_id=chat.pk, actor=staff, user_id=user.pk)

    assert roles(chat) == {bob.pk: "owner", carol.pk: "member"}


def test_member_remove_by_moderator_of_non_member_raises_member_not_found(staff, user, bob):
    chat = group_chat(user)

    with pytest.raises(MemberNotFoundError):
        services.member_remove(chat_id=chat.pk, actor=staff, user_id=bob.pk)


def test_member_remove_by_moderator_broadcasts_member_removed(chat_events, staff, user, bob):
    chat = group_chat(user, bob)

    services.member_remove(chat_id=chat.pk, actor=staff, user_id=bob.pk)

    event = {"chat_id": chat.pk, "user_id": bob.pk}
    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (chat_group(chat.pk), "member_removed", event),
        (user_group(bob.pk), "member_removed", event),
    ]


# --- member_set_role --------------------------------------------------------------------------------


def test_member_set_role_makes_a_member_admin_and_broadcasts_member_updated(chat_events, staff, user, bob):
    chat = group_chat(user, bob)

    member = services.member_set_role(chat_id=chat.pk, actor=staff, user_id=bob.pk, role="admin")

    assert member.role == "admin"
    assert roles(chat)[bob.pk] == "admin"
    assert [(e.group, e.event, e.payload) for e in chat_events] == [
        (chat_group(chat.pk), "member_updated", {"chat_id": chat.pk, "user_id": bob.pk, "role": "admin"})
    ]


def test_member_set_role_to_owner_makes_the_previous_owner_admin(chat_events, staff, user, bob):
    chat = group_chat(user, bob)

    services.member_set_role(chat_id=chat.pk, actor=staff, user_id=bob.pk, role="owner")

    assert roles(chat) == {user.pk: "admin", bob.pk: "owner"}
    assert [(e.event, e.payload["user_id"], e.payload["role"]) for e in chat_events] == [
        ("member_updated", user.pk, "admin"),
        ("member_updated", bob.pk, "owner"),
    ]


def test_member_set_role_lowering_the_owner_is_refused(staff, user, bob):
    chat = group_chat(user, bob)

    with pytest.raises(OwnerRoleChangeError):
        services.member_set_role(chat_id=chat.pk, actor=staff, user_id=user.pk, role="member")
    assert roles(chat)[user.pk] == "owner"


def test_member_set_role_unchanged_broadcasts_nothing(chat_events, staff, user, bob):
    chat = group_chat(user, bob)

    services.member_set_role(chat_id=chat.pk, actor=staff, user_id=bob.pk, role="member")

    assert chat_events == []


def test_member_set_role_with_unknown_role_is_refused(staff, user, bob):
    chat = group_chat(user, bob)

    with pytest.raises(InvalidRoleError):
        services.member_set_role(chat_id=chat.pk, actor=staff, user_id=bob.pk, role="king")


def test_member_set_role_by_owner_member_is_allowed(user, bob):
    chat = group_chat(user, bob)

    services.member_set_role(chat_id=chat.pk, actor=user, user_id=bob.pk, role="admin")

    assert roles(chat)[bob.pk] == "admin"


def test_member_set_role_by_chat_admin_is_refused(user, bob, carol):
    chat = group_chat(user, carol, admins=(bob,))

    with pytest.raises(NotChatAdminError):
        services.member_set_role(chat_id=chat.pk, actor=bob, user_id=carol.pk, role="admin")


def test_member_set_role_in_private_chat_is_refused(staff, user, bob):
    chat = private_chat(user, bob)

    with pytest.raises(PrivateChatMembershipError):
        services.member_set_role(chat_id=chat.pk, actor=staff, user_id=bob.pk, role="admin")
