"""GET /api/messages/search: what matches, whose messages, in which order; and its PostgreSQL plan."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chats.tests.factories import add_messages, group_chat, private_chat
from messaging import services
from messaging.selectors import message_search

pytestmark = pytest.mark.django_db

FTS_INDEX = "messaging_message_fts_idx"
TRGM_INDEX = "messaging_message_trgm_idx"


@pytest.fixture
def chat(user, bob):
    return private_chat(user, bob)


def say(chat, sender, *texts):
    return [services.message_send(chat_id=chat.pk, sender=sender, content=text) for text in texts]


def search(client, q, **params):
    return client.get("/api/messages/search", {"q": q, **params})


def contents(response):
    assert response.status_code == 200, response.json()
    return [m["content"] for m in response.json()["messages"]]


def test_search_returns_matches_newest_first(auth_client, user, bob, chat):
    say(chat, bob, "lunch at noon?", "no idea", "Lunch is great")

    assert contents(search(auth_client, "lunch")) == ["Lunch is great", "lunch at noon?"]


def test_search_matches_word_prefixes(auth_client, bob, chat):
    say(chat, bob, "deployment finished", "deploy", "redeploy later")

    assert contents(search(auth_client, "deplo")) == ["redeploy later", "deploy", "deployment finished"]


def test_search_matches_a_short_word_prefix(auth_client, bob, chat):
    say(chat, bob, "go home", "we are going", "ago")

    assert contents(search(auth_client, "go")) == ["we are going", "go home"]


def test_search_matches_substrings_of_three_characters_or_more(auth_client, bob, chat):
    say(chat, bob, "unbelievable", "believe", "nothing")

    assert contents(search(auth_client, "liev")) == ["believe", "unbelievable"]


def test_search_requires_every_word_in_any_order(auth_client, bob, chat):
    say(chat, bob, "release notes are ready", "notes", "ready for release")

    assert contents(search(auth_client, "ready release")) == ["ready for release", "release notes are ready"]


def test_search_matches_non_latin_words(auth_client, bob, chat):
    say(chat, bob, "Привет, мир", "пока")

    assert contents(search(auth_client, "прив")) == ["Привет, мир"]


def test_search_matches_punctuation_as_a_substring(auth_client, bob, chat):
    say(chat, bob, "see https://example.com/a-b", "example")

    assert contents(search(auth_client, "com/a-b")) == ["see https://example.com/a-b"]


def test_search_treats_like_wildcards_literally(auth_client, bob, chat):
    say(chat, bob, "100% done", "1000 done")

    assert contents(search(auth_client, "0% d")) == ["100% done"]


def test_search_excludes_chats_the_user_is_not_in(auth_client, user, bob, carol, chat):
    say(chat, bob, "secret plan mine")
    say(private_chat(bob, carol), bob, "secret plan theirs")

    assert contents(search(auth_client, "secret")) == ["secret plan mine"]


def test_search_excludes_deleted_messages(auth_client, user, bob, chat):
    _kept, gone = say(chat, bob, "keep this", "keep that")
    services.message_delete(message_id=gone.pk, actor=bob)

    assert contents(search(auth_client, "keep")) == ["keep this"]


def test_search_with_chat_id_searches_that_chat_only(auth_client, user, bob, carol, chat):
    say(chat, bob, "meeting today")
    team = group_chat(user, carol)
    say(team, carol, "meeting tomorrow")

    assert contents(search(auth_client, "meeting", chat_id=team.pk)) == ["meeting tomorrow"]


def test_search_with_chat_id_of_a_chat_you_are_not_in_is_forbidden(auth_client, bob, carol):
    response = search(auth_client, "x", chat_id=private_chat(bob, carol).pk)

    assert (response.status_code, response.json()["code"]) == (403, "not_chat_member")


def test_search_pages_with_before_id_and_limit(auth_client, bob, chat):
    messages = say(chat, bob, "item one", "item two", "item three")

    first = search(auth_client, "item", limit=2).json()["messages"]
    rest = search(auth_client, "item", limit=2, before_id=first[-1]["id"]).json()["messages"]

    assert [m["id"] for m in first + rest] == [m.pk for m in reversed(messages)]


def test_search_payload_marks_the_callers_reactions(auth_client, user, bob, chat):
    (message,) = say(chat, bob, "react to me")
    services.reaction_add(message_id=message.pk, user=user, emoji="👍")

    (found,) = search(auth_client, "react").json()["messages"]

    assert found["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]


@pytest.mark.parametrize("q", ["!", "  ", "?!"], ids=repr)
def test_search_without_a_word_and_under_three_characters_is_bad_request(auth_client, q):
    response = search(auth_client, q)

    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_search_query", "invalid"}


@pytest.mark.parametrize("query", ["", "q=", f"q={'x' * 201}", "q=a&limit=0", "q=a&chat_id=x"])
def test_search_with_bad_query_is_bad_request(auth_client, query):
    assert auth_client.get(f"/api/messages/search?{query}").status_code == 400


def test_search_without_token_is_unauthorized(api_client):
    assert search(api_client, "x").status_code == 401


# --- the plan: both GIN indexes, on analysed rows, no enable_seqscan tricks ---------------------------


def _plan_index_names(sql):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    names, stack = set(), [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Index Name" in node:
            names.add(node["Index Name"])
        stack.extend(node.get("Plans", []))
    return names, json.dumps(plan)


def test_search_query_uses_the_full_text_and_trigram_indexes(user, bob, chat):
    # 20,000 messages of varied words, analysed; the searched word is rare.
    add_messages(chat, bob, 20_000, text="filler words about nothing")
    say(chat, bob, "the quarterly zanzibar report")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message, chats_chatmember")

    with CaptureQueriesContext(connection) as captured:
        found = message_search(user=user, q="zanzib", chat_id=chat.pk)

    assert [m.content for m in found] == ["the quarterly zanzibar report"]
    search_sql = next(q["sql"] for q in captured.captured_queries if "to_tsvector" in q["sql"])
    names, plan = _plan_index_names(search_sql)
    assert {FTS_INDEX, TRGM_INDEX} <= names, plan
