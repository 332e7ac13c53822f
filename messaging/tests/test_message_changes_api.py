"""Editing, deleting and reacting over HTTP, and the change feed: status codes, bodies, permissions."""

from urllib.parse import quote

import pytest

from chats.tests.factories import add_messages, group_chat, private_chat
from messaging import services
from messaging.models import Message, Reaction

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": "message not found", "code": "message_not_found"}


@pytest.fixture
def chat(user, bob):
    return private_chat(user, bob)


@pytest.fixture
def mine(user, chat):
    (message,) = add_messages(chat, user, 1)
    return message


@pytest.fixture
def bobs(bob, chat):
    (message,) = add_messages(chat, bob, 1)
    return message


def edit(client, message_id, **body):
    return client.patch(f"/api/messages/{message_id}", body, format="json")


def react(client, message_id, emoji):
    return client.post(f"/api/messages/{message_id}/reactions", {"emoji": emoji}, format="json")


def unreact(client, message_id, emoji):
    return client.delete(f"/api/messages/{message_id}/reactions/{quote(emoji)}")


# --- PATCH /api/messages/{id} ----------------------------------------------------------------------


def test_edit_returns_the_message_with_edited_at(auth_client, mine):
    response = edit(auth_client, mine.pk, content="fixed typo")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["content"], body["version"], body["deleted"]) == (
        mine.pk,
        "fixed typo",
        1,
        False,
    )
    assert body["edited_at"] is not None


def test_edit_of_another_users_message_is_forbidden(auth_client, bobs):
    response = edit(auth_client, bobs.pk, content="hijacked")

    assert response.status_code == 403
    assert response.json() == {"error": "only the sender can edit a message", "code": "not_message_author"}
    assert Message.objects.get(pk=bobs.pk).content == bobs.content


def test_edit_in_a_chat_you_are_not_in_is_not_found(auth_client, bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    response = edit(auth_client, message.pk, content="x")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_edit_of_a_missing_message_is_not_found(auth_client):
    response = edit(auth_client, 987654321, content="x")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_edit_of_a_deleted_message_is_bad_request(auth_client, user, mine):
    services.message_delete(message_id=mine.pk, actor=user)

    response = edit(auth_client, mine.pk, content="undo")

    assert response.status_code == 400
    assert response.json() == {"error": "message has been deleted", "code": "message_deleted"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"content": ""}, "message_empty"),
        ({"content": "   "}, "message_empty"),
        ({"content": "x" * 4001}, "message_too_long"),
        ({"content": 5}, "invalid"),
        ({"content": None}, "invalid"),
    ],
    ids=["empty", "blank", "too_long", "not_a_string", "null"],
)
def test_edit_with_bad_content_is_bad_request(auth_client, mine, body, code):
    response = auth_client.patch(f"/api/messages/{mine.pk}", body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)


def test_edit_without_content_changes_nothing_and_returns_the_message(auth_client, mine, chat_events):
    response = auth_client.patch(f"/api/messages/{mine.pk}", {}, format="json")

    assert response.status_code == 200
    assert (response.json()["content"], response.json()["edited_at"], response.json()["version"]) == (
        mine.content,
        None,
        0,
    )
    assert Message.objects.get(pk=mine.pk).version == 0
    assert chat_events == []


def test_edit_without_content_in_a_chat_you_are_not_in_is_not_found(auth_client, bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    response = auth_client.patch(f"/api/messages/{message.pk}", {}, format="json")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_edit_with_malformed_json_is_bad_request(auth_client, mine):
    response = auth_client.patch(f"/api/messages/{mine.pk}", "{", content_type="application/json")

    assert (response.status_code, response.json()) == (400, {"error": "invalid json", "code": "invalid_json"})


def test_edit_with_a_non_integer_id_is_not_found(auth_client):
    assert auth_client.patch("/api/messages/abc", {"content": "x"}, format="json").status_code == 404


def test_edit_without_token_is_unauthorized(api_client, mine):
    assert edit(api_client, mine.pk, content="x").status_code == 401


# --- DELETE /api/messages/{id} ------------------------------------------------------------------------


def test_delete_answers_204_and_history_shows_a_tombstone(auth_client, chat, mine):
    response = auth_client.delete(f"/api/messages/{mine.pk}")

    assert response.status_code == 204
    (shown,) = auth_client.get(f"/api/messages/get?chat_id={chat.pk}").json()["messages"]
    assert (shown["id"], shown["seq"], shown["deleted"], shown["content"]) == (mine.pk, 1, True, "")


def test_delete_twice_answers_204_both_times(auth_client, mine):
    first = auth_client.delete(f"/api/messages/{mine.pk}")
    second = auth_client.delete(f"/api/messages/{mine.pk}")

    assert (first.status_code, second.status_code) == (204, 204)


def test_delete_of_another_members_message_in_a_private_chat_is_forbidden(auth_client, bobs):
    response = auth_client.delete(f"/api/messages/{bobs.pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "cannot_delete_message"
    assert Message.objects.get(pk=bobs.pk).deleted_at is None


def test_delete_by_a_group_admin_answers_204(make_client, user, bob, carol):
    team = group_chat(user, bob, admins=(carol,))
    (message,) = add_messages(team, bob, 1)

    response = make_client(carol).delete(f"/api/messages/{message.pk}")

    assert response.status_code == 204


def test_delete_in_a_chat_you_are_not_in_is_not_found(auth_client, bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    response = auth_client.delete(f"/api/messages/{message.pk}")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_deleted_message_is_not_a_valid_reply_target(auth_client, chat, mine):
    auth_client.delete(f"/api/messages/{mine.pk}")

    response = auth_client.post(
        "/api/messages/send", {"chat_id": chat.pk, "content": "re", "reply_to": mine.pk}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_reply")


def test_send_payload_carries_reply_to(auth_client, chat, bobs):
    response = auth_client.post(
        "/api/messages/send", {"chat_id": chat.pk, "content": "re", "reply_to": bobs.pk}, format="json"
    )

    assert (response.status_code, response.json()["reply_to"]) == (200, bobs.pk)


# --- reactions ---------------------------------------------------------------------------------------


def test_react_returns_counts_with_me_for_the_caller(auth_client, make_client, bob, bobs):
    react(make_client(bob), bobs.pk, "👍")

    response = react(auth_client, bobs.pk, "👍")

    assert response.status_code == 200
    assert response.json()["reactions"] == [{"emoji": "👍", "count": 2, "me": True}]


def test_react_twice_keeps_one_reaction(auth_client, bobs):
    react(auth_client, bobs.pk, "👍")
    response = react(auth_client, bobs.pk, "👍")

    assert response.json()["reactions"] == [{"emoji": "👍", "count": 1, "me": True}]
    assert Reaction.objects.count() == 1


@pytest.mark.parametrize("emoji", ["", " ", "a b", "x" * 33, "\n"], ids=repr)
def test_react_with_bad_emoji_is_bad_request(auth_client, bobs, emoji):
    response = react(auth_client, bobs.pk, emoji)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_emoji")


def test_react_with_non_string_emoji_is_bad_request(auth_client, bobs):
    response = auth_client.post(f"/api/messages/{bobs.pk}/reactions", {"emoji": 1}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_react_in_a_chat_you_are_not_in_is_not_found(auth_client, bob, carol):
    (message,) = add_messages(private_chat(bob, carol), bob, 1)

    assert (react(auth_client, message.pk, "👍").status_code) == 404


def test_react_to_a_deleted_message_is_bad_request(auth_client, user, mine):
    services.message_delete(message_id=mine.pk, actor=user)

    response = react(auth_client, mine.pk, "👍")

    assert (response.status_code, response.json()["code"]) == (400, "message_deleted")


def test_unreact_removes_only_the_callers_reaction(auth_client, make_client, bob, bobs):
    react(make_client(bob), bobs.pk, "👍🏽")
    react(auth_client, bobs.pk, "👍🏽")

    response = unreact(auth_client, bobs.pk, "👍🏽")

    assert response.status_code == 200
    assert response.json()["reactions"] == [{"emoji": "👍🏽", "count": 1, "me": False}]


def test_unreact_of_absent_reaction_answers_200(auth_client, bobs):
    response = unreact(auth_client, bobs.pk, "👍")

    assert (response.status_code, response.json()["reactions"]) == (200, [])


def test_unreact_with_too_long_emoji_is_bad_request(auth_client, bobs):
    assert unreact(auth_client, bobs.pk, "x" * 33).status_code == 400


def test_history_shows_reaction_counts_with_me(auth_client, make_client, bob, chat, bobs):
    react(make_client(bob), bobs.pk, "🎉")

    (shown,) = auth_client.get(f"/api/messages/get?chat_id={chat.pk}").json()["messages"]

    assert shown["reactions"] == [{"emoji": "🎉", "count": 1, "me": False}]


# --- GET /api/messages/changes ------------------------------------------------------------------------


def test_changes_returns_what_changed_after_the_version_and_the_next_cursor(auth_client, user, chat):
    first, second, third = add_messages(chat, user, 3)
    edit(auth_client, first.pk, content="edited")  # version 1
    auth_client.delete(f"/api/messages/{third.pk}")  # version 2
    react(auth_client, second.pk, "👍")  # version 3

    body = auth_client.get(f"/api/messages/changes?chat_id={chat.pk}&since_version=1").json()

    assert [(m["id"], m["version"], m["deleted"]) for m in body["messages"]] == [
        (third.pk, 2, True),
        (second.pk, 3, False),
    ]
    assert body["version"] == 3


def test_changes_pages_by_limit_with_the_cursor(auth_client, user, chat):
    messages = add_messages(chat, user, 3)
    for message in messages:
        edit(auth_client, message.pk, content=f"edited {message.pk}")

    first = auth_client.get(f"/api/messages/changes?chat_id={chat.pk}&since_version=0&limit=2").json()
    rest = auth_client.get(f"/api/messages/changes?chat_id={chat.pk}&since_version={first['version']}").json()

    assert [m["version"] for m in first["messages"]] == [1, 2]
    assert [m["version"] for m in rest["messages"]] == [3]


def test_changes_when_nothing_changed_returns_the_same_cursor(auth_client, chat, mine):
    body = auth_client.get(f"/api/messages/changes?chat_id={chat.pk}&since_version=7").json()

    assert body == {"messages": [], "version": 7}


def test_changes_of_a_chat_you_are_not_in_is_forbidden(auth_client, bob, carol):
    response = auth_client.get(f"/api/messages/changes?chat_id={private_chat(bob, carol).pk}&since_version=0")

    assert (response.status_code, response.json()["code"]) == (403, "not_chat_member")


@pytest.mark.parametrize("query", ["chat_id=1", "since_version=0", "chat_id=1&since_version=-1"])
def test_changes_with_bad_query_is_bad_request(auth_client, query):
    assert auth_client.get(f"/api/messages/changes?{query}").status_code == 400
