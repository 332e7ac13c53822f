"""Test data for chats and messages: rows written directly, as the services would leave them."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.utils import timezone

from chats.models import Chat, ChatMember
from messaging.models import Message


def group_chat(owner: Any, *members: Any, admins: tuple[Any, ...] = (), name: str = "Team") -> Chat:
    """A group with `owner`, then `admins`, then `members`, joined in that order."""
    chat = Chat.objects.create(type=Chat.Type.GROUP, name=name, created_by=owner)
    ChatMember.objects.create(chat=chat, user=owner, role=ChatMember.Role.OWNER)
    for admin in admins:
        ChatMember.objects.create(chat=chat, user=admin, role=ChatMember.Role.ADMIN)
    for member in members:
        ChatMember.objects.create(chat=chat, user=member, role=ChatMember.Role.MEMBER)
    return chat


def private_chat(first: Any, second: Any) -> Chat:
    """The private chat of two users."""
    chat = Chat.objects.create(
        type=Chat.Type.PRIVATE, private_key=Chat.private_key_for(first.pk, second.pk), created_by=first
    )
    ChatMember.objects.bulk_create([ChatMember(chat=chat, user=first), ChatMember(chat=chat, user=second)])
    return chat


def add_messages(chat: Chat, sender: Any, count: int, text: str = "message") -> list[Message]:
    """Append `count` messages with the chat's next seqs in one insert, and move chat.last_seq."""
    chat.refresh_from_db()
    now = timezone.now()
    messages = Message.objects.bulk_create(
        Message(
            chat=chat,
            sender=sender,
            seq=chat.last_seq + i,
            content=f"{text} {chat.last_seq + i}",
            created_at=now,
        )
        for i in range(1, count + 1)
    )
    Chat.objects.filter(pk=chat.pk).update(last_seq=chat.last_seq + count, last_message_at=now)
    chat.refresh_from_db()
    return messages


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in `count` threads released together; return results (or raised exceptions) by i."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # reported to the test through `results`
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
