"""Query budgets: a history page costs the same number of queries for 3 messages or 300."""

import pytest

from chats.tests.factories import add_messages, private_chat
from messaging.models import Attachment, Message
from messaging.services import reaction_add

pytestmark = pytest.mark.django_db

# Authentication (the user row), the membership check, the page. Attachments and reactions cost one
# query each, only for pages where a message has any.
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


# --- reactions: one more query for the whole page, whatever its size ----------------------------------


@pytest.mark.parametrize("count", [3, 100])
def test_history_with_reactions_costs_one_more_query_whatever_the_page_size(
    auth_client, user, bob, django_assert_num_queries, count
):
    chat = private_chat(user, bob)
    for message in add_messages(chat, bob, count):
        reaction_add(message_id=message.pk, user=bob, emoji="👍")

    with django_assert_num_queries(HISTORY_QUERIES + 1):
        response = auth_client.get(f"/api/messages/get?chat_id={chat.pk}&limit=100")

    assert all(
        m["reactions"] == [{"emoji": "👍", "count": 1, "me": False}] for m in response.json()["messages"]
    )


# --- attachments: one more query for the whole page, whatever its size --------------------------------


@pytest.mark.parametrize("count", [3, 100])
def test_history_with_attachments_costs_one_more_query_whatever_the_page_size(
    auth_client, user, bob, django_assert_num_queries, count
):
    chat = private_chat(user, bob)
    messages = add_messages(chat, bob, count)
    Attachment.objects.bulk_create(
        Attachment(
            uploader=bob, message=m, file=f"a/{m.pk}.txt", filename="a.txt", content_type="text/plain", size=1
        )
        for m in messages
    )
    Message.objects.filter(chat=chat).update(has_attachments=True)

    with django_assert_num_queries(HISTORY_QUERIES + 1):
        response = auth_client.get(f"/api/messages/get?chat_id={chat.pk}&limit=100")

    assert all(len(m["attachments"]) == 1 for m in response.json()["messages"])
