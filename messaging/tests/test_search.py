"""GET /api/messages/search: what matches, whose messages, in which order; and its PostgreSQL plan."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chats.tests.factories import add_messages, group_chat, private_chat
from messaging import services
from messaging.selectors import message_search
from messaging.selectors import search as search_module

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


# --- the two steps: the newest messages first, then the GIN indexes for older ones -----------------


@pytest.fixture
def small_window(monkeypatch):
    """The recent window holds 2 messages per result asked for (1,000 for a page of 50 in production)."""
    monkeypatch.setattr(search_module, "RECENT_WINDOW_PER_RESULT", 2)


def test_search_joins_recent_and_older_matches_newest_first(auth_client, bob, chat, small_window):
    say(chat, bob, "apple one", "apple two", "pear", "pear", "pear", "apple three", "pear", "apple four")

    # limit 3: a window of 6 (apple two .. apple four) holds 2 apples; the third comes from the indexes.
    assert contents(search(auth_client, "apple", limit=3)) == ["apple four", "apple three", "apple two"]


def test_search_pages_with_before_id_across_the_window(auth_client, bob, chat, small_window):
    messages = say(chat, bob, "apple one", "pear", "apple two", "pear", "apple three", "apple four", "pear")
    apples = [m.pk for m in reversed(messages) if m.content.startswith("apple")]

    first = search(auth_client, "apple", limit=2).json()["messages"]
    second = search(auth_client, "apple", limit=2, before_id=first[-1]["id"]).json()["messages"]
    third = search(auth_client, "apple", limit=2, before_id=second[-1]["id"]).json()["messages"]

    assert [m["id"] for m in first + second + third] == apples


def test_search_across_chats_takes_the_newest_of_all_chats(auth_client, user, bob, carol, chat, small_window):
    team = group_chat(user, carol)
    say(chat, bob, "memo a1")
    say(team, carol, "memo b1", "x", "x", "x")
    say(chat, bob, "memo a2", "x")
    say(team, carol, "memo b2")

    assert contents(search(auth_client, "memo", limit=2)) == ["memo b2", "memo a2"]
    assert contents(search(auth_client, "memo", limit=4)) == ["memo b2", "memo a2", "memo b1", "memo a1"]


def test_search_with_no_chats_finds_nothing(auth_client):
    assert contents(search(auth_client, "anything")) == []


# --- the plans: on analysed rows, no enable_seqscan tricks -------------------------------------------


def _plan(sql):
    """(index names used, whole plan as JSON text) of one query."""
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


@pytest.fixture
def big_chat(user, bob, chat):
    """20,000 messages of the same few words, analysed, in the private chat of user and bob."""
    add_messages(chat, bob, 20_000, text="filler words about nothing")
    return chat


def _analyse():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message, chats_chatmember")


def _search_queries(captured):
    return [q["sql"] for q in captured.captured_queries if "to_tsvector" in q["sql"] or "LATERAL" in q["sql"]]


def test_search_query_uses_the_full_text_and_trigram_indexes(user, bob, big_chat):
    # The searched word is rare: once among the newest messages, once far older than them.
    say(big_chat, bob, "the quarterly zanzibar report")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE messaging_message SET content = 'zanzibar, again' WHERE seq = 5")
    say(big_chat, bob, "zanzibar on top")
    _analyse()

    with CaptureQueriesContext(connection) as captured:
        found = message_search(user=user, q="zanzib", chat_id=big_chat.pk)

    assert [m.content for m in found] == [
        "zanzibar on top",
        "the quarterly zanzibar report",
        "zanzibar, again",
    ]
    window, _recent, older = _search_queries(captured)
    assert "messaging_message_chat_seq_unique" in _plan(window)[0]
    names, plan = _plan(older)
    assert {FTS_INDEX, TRGM_INDEX} <= names, plan
    assert "messaging_message_pkey" not in names, plan


def test_search_of_a_common_word_reads_only_the_newest_messages(user, big_chat):
    _analyse()

    with CaptureQueriesContext(connection) as captured:
        found = message_search(user=user, q="filler", chat_id=big_chat.pk)

    assert len(found) == 50
    window, _recent = _search_queries(captured)  # and no query over the rest of the chat
    names, plan = _plan(window)
    assert names == {"messaging_message_chat_seq_unique"}, plan
    assert '"Node Type": "Limit"' in plan, plan
