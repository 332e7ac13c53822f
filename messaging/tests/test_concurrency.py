"""Concurrent sends against real PostgreSQL: gap-free seqs and race-safe idempotency."""

import pytest

from chats.models import Chat
from chats.tests.factories import group_chat, run_in_threads
from messaging import services
from messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

SENDERS = 20
MESSAGES_EACH = 3


def test_concurrent_senders_get_seqs_one_to_n_without_gaps_or_duplicates(user):
    from accounts.tests.factories import UserFactory

    senders = [user, *UserFactory.create_batch(SENDERS - 1)]
    chat = group_chat(user, *senders[1:])

    def send_some(i):
        return [
            services.message_send(chat_id=chat.pk, sender=senders[i], content=f"{i}-{n}").seq
            for n in range(MESSAGES_EACH)
        ]

    results = run_in_threads(SENDERS, send_some)

    assert not [r for r in results if isinstance(r, Exception)], results
    total = SENDERS * MESSAGES_EACH
    assert sorted(seq for seqs in results for seq in seqs) == list(range(1, total + 1))
    assert sorted(Message.objects.filter(chat=chat).values_list("seq", flat=True)) == list(
        range(1, total + 1)
    )
    assert Chat.objects.get(pk=chat.pk).last_seq == total


def test_concurrent_sends_with_one_client_id_store_one_message(user, bob):
    chat = group_chat(user, bob)

    results = run_in_threads(
        8, lambda i: services.message_send(chat_id=chat.pk, sender=user, content="once", client_id="same").pk
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Message.objects.filter(chat=chat).count() == 1
    assert Chat.objects.get(pk=chat.pk).last_seq == 1
