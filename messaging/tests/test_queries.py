"""Query budgets: a history page costs the same number of queries for 3 messages or 300."""

import pytest

from chats.tests.factories import add_messages, private_chat

pytestmark = pytest.mark.django_db

# Authentication (the user row), the membership check, the page.
HISTORY_QUERIES = 3


@pytest.mark.parametrize("count", [3, 300])
@pytest.mark.parametrize("cursor", ["", "&before_seq=2", "&after_seq=1", "&offset=1"])
def test_history_query_count_is_independent_of_message_count(
    auth_client, user, bob, django_assert_num_queries, count, cursor
):
    chat = private_chat(user, bob)
    add_messages(chat, bob, count)

    with django_assert_num_queries(HISTORY_QUERIES):
        response = auth_client.get(f"/api/messages/get?chat_id={chat.pk}&limit=100{cursor}")

    assert response.status_code == 200
    assert response.json()["messages"]
