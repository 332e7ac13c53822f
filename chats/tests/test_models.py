"""Database constraints: the rules hold even for writes that bypass the services."""

import pytest
from django.db import IntegrityError

from chats.models import Chat, ChatMember
from chats.tests.factories import group_chat, private_chat

pytestmark = pytest.mark.django_db


def test_chat_type_outside_private_and_group_is_rejected(user):
    with pytest.raises(IntegrityError):
        Chat.objects.create(type="channel", name="x")


def test_second_private_chat_for_the_same_pair_is_rejected(user, bob):
    private_chat(user, bob)

    with pytest.raises(IntegrityError):
        Chat.objects.create(type=Chat.Type.PRIVATE, private_key=Chat.private_key_for(bob.pk, user.pk))


def test_private_chat_without_private_key_is_rejected():
    with pytest.raises(IntegrityError):
        Chat.objects.create(type=Chat.Type.PRIVATE)


def test_group_chat_with_private_key_is_rejected():
    with pytest.raises(IntegrityError):
        Chat.objects.create(type=Chat.Type.GROUP, name="x", private_key="1:2")


def test_second_membership_of_the_same_user_is_rejected(user):
    chat = group_chat(user)

    with pytest.raises(IntegrityError):
        ChatMember.objects.create(chat=chat, user=user)


def test_unknown_role_is_rejected(user):
    chat = group_chat(user)

    with pytest.raises(IntegrityError):
        ChatMember.objects.filter(chat=chat).update(role="king")


def test_private_key_is_the_same_from_either_side():
    assert Chat.private_key_for(7, 3) == Chat.private_key_for(3, 7) == "3:7"
