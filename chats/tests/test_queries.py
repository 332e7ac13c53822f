"""Query budgets: the chat list costs the same number of queries for 1 chat or 30."""

import pytest

from chats.tests.factories import add_messages, group_chat, private_chat

pytestmark = pytest.mark.django_db

# Authentication (the user row), the memberships with their chats, the newest messages (their
# attachments cost one more query, only when one of them has any).
CHAT_LIST_QUERIES = 3


def make_chats(user, others, count):
    chats = []
    for i in range(count):
        chat = private_chat(user, others[i]) if i < len(others) else group_chat(user, *others, name=f"g{i}")
        add_messages(chat, others[i % len(others)], 2)
        chats.append(chat)
    return chats


@pytest.mark.parametrize("count", [1, 30])
def test_chat_list_query_count_is_independent_of_chat_count(
    auth_client, user, bob, carol, django_assert_num_queries, count
):
    make_chats(user, [bob, carol], count)

    with django_assert_num_queries(CHAT_LIST_QUERIES):
        response = auth_client.get("/api/chats")

    assert len(response.json()["chats"]) == count
    assert all(chat["last_message"] is not None for chat in response.json()["chats"])
