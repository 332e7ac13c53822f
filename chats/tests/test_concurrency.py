"""Races closed by the database: real threads, real PostgreSQL transactions."""

import pytest

from chats import services
from chats.models import Chat, ChatMember
from chats.tests.factories import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_chat_create_private_from_both_sides_concurrently_yields_one_chat(user, bob):
    sides = [(user, bob), (bob, user)]

    results = run_in_threads(
        8, lambda i: services.chat_create_private(user=sides[i % 2][0], other_user_id=sides[i % 2][1].pk)
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({chat.pk for chat, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Chat.objects.count() == 1
    assert set(ChatMember.objects.values_list("user_id", flat=True)) == {user.pk, bob.pk}
