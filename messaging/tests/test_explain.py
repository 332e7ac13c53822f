"""The hot queries are index scans: EXPLAIN the exact SQL the selectors run, on a few thousand
analysed rows (no enable_seqscan tricks: the planner must pick the index on its own)."""

import json

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from chats.inbox import chat_list_for_user
from chats.models import Chat, ChatMember
from messaging.models import Message
from messaging.selectors import message_history

pytestmark = pytest.mark.django_db

CHATS = 1000
HOT_CHAT_MESSAGES = 2000
USERS = 200
MESSAGE_INDEX = "messaging_message_chat_seq_unique"
MEMBER_INDEX = "chats_member_chat_user_unique"
USER_CHATS_INDEX = "chats_member_user_chat_idx"


@pytest.fixture
def data():
    """1,000 chats (one of 2,000 messages, the rest of 2), 200 users in 10 chats each, analysed."""
    password = make_password(None)
    users = User.objects.bulk_create(
        User(email=f"explain{i}@example.com", username=f"explain{i}", password=password) for i in range(USERS)
    )
    chats = Chat.objects.bulk_create(Chat(type=Chat.Type.GROUP, name=f"c{i}") for i in range(CHATS))
    ChatMember.objects.bulk_create(
        ChatMember(chat=chats[(u + k) % CHATS], user=user) for u, user in enumerate(users) for k in range(10)
    )
    now = timezone.now()
    sizes = {chat.pk: HOT_CHAT_MESSAGES if i == 0 else 2 for i, chat in enumerate(chats)}
    Message.objects.bulk_create(
        Message(chat=chat, sender=users[0], seq=seq, content=f"m{seq}", created_at=now)
        for chat in chats
        for seq in range(1, sizes[chat.pk] + 1)
    )
    Chat.objects.update(last_seq=2, last_message_at=now)
    Chat.objects.filter(pk=chats[0].pk).update(last_seq=HOT_CHAT_MESSAGES)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chats_chat, chats_chatmember, messaging_message, accounts_user")
    return users[0], chats[0]


def assert_attachment_lookups(plans):
    """No query after the main ones: no message here carries attachments (Message.has_attachments)."""
    assert plans == [], plans


def plans_of(run):
    """(sql, plan text) of every query `run()` executes."""
    with CaptureQueriesContext(connection) as captured:
        run()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN (FORMAT JSON) " + query["sql"])
            plans.append((query["sql"], json.dumps(cursor.fetchone()[0])))
    return plans


def index_scans(plan_text):
    """Names of the indexes a JSON plan scans; and whether any node is a sequential scan."""
    nodes, stack = [], [json.loads(plan_text)[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return {n.get("Index Name") for n in nodes if "Index Name" in n}, any(
        n["Node Type"] == "Seq Scan" for n in nodes
    )


@pytest.mark.parametrize(
    "cursor",
    [{}, {"before_seq": 1000}, {"after_seq": 1000}],
    ids=["newest_page", "before_seq", "after_seq"],
)
def test_history_queries_scan_the_chat_seq_index(data, cursor):
    user, chat = data

    (membership_sql, membership_plan), (page_sql, page_plan), *extra = plans_of(
        lambda: message_history(chat_id=chat.pk, user=user, limit=50, **cursor)
    )

    assert "chats_chatmember" in membership_sql
    assert index_scans(membership_plan) == ({MEMBER_INDEX}, False), membership_plan
    assert "messaging_message" in page_sql
    assert index_scans(page_plan) == ({MESSAGE_INDEX}, False), page_plan
    assert_attachment_lookups(extra)


def test_chat_list_queries_scan_the_user_and_message_indexes(data):
    user, _ = data

    (_, memberships_plan), (_, newest_plan), *extra = plans_of(lambda: chat_list_for_user(user=user))

    used, seq_scan = index_scans(memberships_plan)
    assert USER_CHATS_INDEX in used, memberships_plan
    assert not seq_scan, memberships_plan
    used, seq_scan = index_scans(newest_plan)
    assert {USER_CHATS_INDEX, MESSAGE_INDEX} <= used, newest_plan
    assert not seq_scan, newest_plan
    assert_attachment_lookups(extra)
