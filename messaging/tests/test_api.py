"""The message endpoints over HTTP: send, history by offset and by seq cursors, and their errors."""

import re

import pytest

from accounts.tests.factories import UserFactory
from chatproject.conf import chat_settings
from chats.models import Chat, ChatMember
from chats.tests.factories import add_messages, group_chat, private_chat
from messaging.models import Message

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
NOT_MEMBER = {"error": "user is not a member of the chat", "code": "not_chat_member"}
MESSAGE_FIELDS = {
    "id",
    "chat_id",
    "sender_id",
    "content",
    "created_at",
    "edited_at",
    "seq",
    "reply_to",
    "client_id",
    "deleted",
    "version",
    "reactions",
    "attachments",
}


@pytest.fixture
def chat(user, bob):
    return private_chat(user, bob)


def send(client, **body):
    return client.post("/api/messages/send", body, format="json")


def seqs(response):
    return [m["seq"] for m in response.json()["messages"]]


# --- POST /api/messages/send ------------------------------------------------------------------


def test_send_returns_message(auth_client, user, chat):
    response = send(auth_client, chat_id=chat.pk, content="Hello, world!")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == MESSAGE_FIELDS
    assert body["chat_id"] == chat.pk
    assert body["sender_id"] == user.pk
    assert body["content"] == "Hello, world!"
    assert body["seq"] == 1
    assert body["edited_at"] is None
    assert body["reply_to"] is None
    assert body["client_id"] is None
    assert ISO_Z.match(body["created_at"])


def test_send_stores_message(auth_client, user, chat):
    message_id = send(auth_client, chat_id=chat.pk, content="hi").json()["id"]

    stored = Message.objects.get(pk=message_id)
    assert (stored.chat_id, stored.sender_id, stored.content, stored.seq) == (chat.pk, user.pk, "hi", 1)


def test_send_numbers_messages_one_two_three(auth_client, chat):
    numbers = [send(auth_client, chat_id=chat.pk, content=str(i)).json()["seq"] for i in range(3)]

    assert numbers == [1, 2, 3]
    chat.refresh_from_db()
    assert chat.last_seq == 3
    assert chat.last_message_at is not None


def test_send_trims_surrounding_whitespace(auth_client, chat):
    assert send(auth_client, chat_id=chat.pk, content="  hi there \n").json()["content"] == "hi there"


def test_send_marks_chat_read_for_sender(auth_client, user, bob, chat):
    add_messages(chat, bob, 2)

    send(auth_client, chat_id=chat.pk, content="hi")

    assert ChatMember.objects.get(chat=chat, user=user).last_read_seq == 3
    assert ChatMember.objects.get(chat=chat, user=bob).last_read_seq == 0


def test_send_accepts_content_of_max_length(auth_client, chat, settings):
    assert (
        send(auth_client, chat_id=chat.pk, content="x" * chat_settings.MESSAGE_MAX_LENGTH).status_code == 200
    )


def test_send_returns_original_message_when_client_id_repeats(auth_client, chat):
    first = send(auth_client, chat_id=chat.pk, content="hi", client_id="c-1")
    second = send(auth_client, chat_id=chat.pk, content="hi", client_id="c-1")

    assert second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["client_id"] == "c-1"
    assert Message.objects.count() == 1


def test_send_stores_two_messages_when_client_ids_differ(auth_client, chat):
    send(auth_client, chat_id=chat.pk, content="hi", client_id="c-1")
    send(auth_client, chat_id=chat.pk, content="hi", client_id="c-2")

    assert Message.objects.count() == 2


def test_send_stores_two_messages_when_other_sender_uses_same_client_id(auth_client, make_client, bob, chat):
    send(auth_client, chat_id=chat.pk, content="hi", client_id="c-1")
    send(make_client(bob), chat_id=chat.pk, content="hi", client_id="c-1")

    assert Message.objects.count() == 2


def test_send_returns_reply_to_when_replying_in_same_chat(auth_client, bob, chat):
    (original,) = add_messages(chat, bob, 1)

    response = send(auth_client, chat_id=chat.pk, content="yes", reply_to=original.pk)

    assert response.status_code == 200
    assert response.json()["reply_to"] == original.pk


def test_send_returns_400_when_reply_to_is_in_another_chat(auth_client, user, carol, chat):
    (elsewhere,) = add_messages(group_chat(user, carol), carol, 1)

    response = send(auth_client, chat_id=chat.pk, content="yes", reply_to=elsewhere.pk)

    assert response.status_code == 400
    assert response.json() == {
        "error": "reply_to must be a message in the same chat",
        "code": "invalid_reply",
    }


def test_send_returns_400_when_reply_to_does_not_exist(auth_client, chat):
    response = send(auth_client, chat_id=chat.pk, content="yes", reply_to=987654321)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_reply"


@pytest.mark.parametrize("content", ["", "   ", "\n\t "])
def test_send_returns_400_when_content_is_empty(auth_client, chat, content):
    response = send(auth_client, chat_id=chat.pk, content=content)

    assert response.status_code == 400
    assert response.json() == {"error": "message content cannot be empty", "code": "message_empty"}
    assert Message.objects.count() == 0


def test_send_returns_400_when_content_is_too_long(auth_client, chat, settings):
    response = send(auth_client, chat_id=chat.pk, content="x" * (chat_settings.MESSAGE_MAX_LENGTH + 1))

    assert response.status_code == 400
    assert response.json()["code"] == "message_too_long"
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"content": "hi"},
        {"chat_id": "1", "content": "hi"},
        {"chat_id": True, "content": "hi"},
        {"chat_id": 1.5, "content": "hi"},
        {"chat_id": None, "content": "hi"},
        {"chat_id": 2**63, "content": "hi"},
        {"chat_id": 1},
        {"chat_id": 1, "content": 5},
        {"chat_id": 1, "content": None},
        {"chat_id": 1, "content": ["hi"]},
        {"chat_id": 1, "content": "a\x00b"},
        {"chat_id": 1, "content": "hi", "client_id": ""},
        {"chat_id": 1, "content": "hi", "client_id": "x" * 65},
        {"chat_id": 1, "content": "hi", "client_id": 5},
        {"chat_id": 1, "content": "hi", "reply_to": "5"},
        {"chat_id": 1, "content": "hi", "reply_to": 0},
    ],
)
def test_send_returns_400_when_body_is_invalid(auth_client, body):
    response = send(auth_client, **body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_send_returns_400_when_json_is_malformed(auth_client):
    response = auth_client.post("/api/messages/send", "{", content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid json", "code": "invalid_json"}


def test_send_returns_403_when_not_a_member(auth_client, bob, carol):
    theirs = private_chat(bob, carol)

    response = send(auth_client, chat_id=theirs.pk, content="hi")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER
    assert Message.objects.count() == 0


def test_send_returns_403_when_chat_does_not_exist(auth_client):
    response = send(auth_client, chat_id=987654321, content="hi")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER


def test_send_returns_403_when_client_id_repeats_after_removal(auth_client, make_client, user, bob):
    chat = group_chat(user, bob)
    bob_client = make_client(bob)
    send(bob_client, chat_id=chat.pk, content="hi", client_id="c-1")
    auth_client.delete(f"/api/chats/{chat.pk}/members/{bob.pk}")

    assert send(bob_client, chat_id=chat.pk, content="hi", client_id="c-1").status_code == 403


def test_send_returns_401_without_token(api_client, chat):
    assert send(api_client, chat_id=chat.pk, content="hi").status_code == 401


# --- GET /api/messages/get --------------------------------------------------------------------


def test_history_returns_messages_newest_first(auth_client, bob, chat):
    add_messages(chat, bob, 3)

    response = auth_client.get(f"/api/messages/get?chat_id={chat.pk}")

    assert response.status_code == 200
    assert seqs(response) == [3, 2, 1]
    assert set(response.json()["messages"][0]) == MESSAGE_FIELDS


def test_history_returns_empty_list_when_chat_has_no_messages(auth_client, chat):
    assert auth_client.get(f"/api/messages/get?chat_id={chat.pk}").json() == {"messages": []}


def test_history_returns_50_messages_by_default(auth_client, bob, chat):
    add_messages(chat, bob, 60)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}")) == list(range(60, 10, -1))


def test_history_clamps_limit_to_100(auth_client, bob, chat):
    add_messages(chat, bob, 120)

    assert len(seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&limit=500"))) == 100


def test_history_skips_offset_newest_messages(auth_client, bob, chat):
    add_messages(chat, bob, 10)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&limit=3&offset=2")) == [8, 7, 6]


def test_history_returns_older_messages_newest_first_when_before_seq(auth_client, bob, chat):
    add_messages(chat, bob, 10)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&before_seq=6&limit=3")) == [5, 4, 3]


def test_history_returns_newer_messages_oldest_first_when_after_seq(auth_client, bob, chat):
    add_messages(chat, bob, 10)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&after_seq=6&limit=3")) == [7, 8, 9]


@pytest.mark.parametrize(
    ("around", "limit", "expected"),
    [
        (5, 5, [3, 4, 5, 6, 7]),  # it, the older half, the newer rest
        (5, 4, [4, 5, 6, 7]),  # limit // 2 newer, the rest (it included) older
        (9, 5, [6, 7, 8, 9, 10]),  # one newer left: more older
        (2, 5, [1, 2, 3, 4, 5]),  # one older left: more newer
        (50, 3, [8, 9, 10]),  # past the newest: the newest page, oldest first
        (5, 1, [5]),
    ],
)
def test_history_around_seq_is_the_page_centred_on_it_oldest_first(
    auth_client, bob, chat, around, limit, expected
):
    add_messages(chat, bob, 10)

    response = auth_client.get(f"/api/messages/get?chat_id={chat.pk}&around_seq={around}&limit={limit}")

    assert seqs(response) == expected


@pytest.mark.parametrize("other", ["before_seq=8", "after_seq=2", "offset=1"])
def test_history_around_seq_with_another_cursor_is_a_400_naming_it(auth_client, bob, chat, other):
    add_messages(chat, bob, 10)

    response = auth_client.get(f"/api/messages/get?chat_id={chat.pk}&around_seq=5&{other}")

    assert response.status_code == 400
    assert response.json()["fields"] == {other.split("=")[0]: ["cannot be combined with around_seq"]}


def test_history_around_seq_of_a_chat_you_are_not_in_is_403(make_client, bob, chat):
    add_messages(chat, bob, 3)

    response = make_client(UserFactory()).get(f"/api/messages/get?chat_id={chat.pk}&around_seq=2")

    assert response.status_code == 403
    assert response.json()["error"] == "user is not a member of the chat"


def test_history_pages_through_whole_chat_without_gaps_or_duplicates_when_following_after_seq(
    auth_client, bob, chat
):
    add_messages(chat, bob, 25)
    seen, cursor = [], 0
    while page := seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&after_seq={cursor}&limit=10")):
        seen += page
        cursor = page[-1]

    assert seen == list(range(1, 26))


def test_history_pages_back_through_whole_chat_when_following_before_seq(auth_client, bob, chat):
    add_messages(chat, bob, 25)
    seen = seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&limit=10"))
    while page := seqs(
        auth_client.get(f"/api/messages/get?chat_id={chat.pk}&before_seq={seen[-1]}&limit=10")
    ):
        seen += page

    assert seen == list(range(25, 0, -1))


def test_history_keeps_deleted_messages_as_tombstones(auth_client, bob, chat):
    add_messages(chat, bob, 3)
    Message.objects.filter(chat=chat, seq=2).update(deleted_at="2026-01-01T00:00:00Z", content="")

    messages = auth_client.get(f"/api/messages/get?chat_id={chat.pk}").json()["messages"]

    assert [(m["seq"], m["deleted"], m["content"]) for m in messages] == [
        (3, False, messages[0]["content"]),
        (2, True, ""),
        (1, False, messages[2]["content"]),
    ]


def test_history_returns_only_the_requested_chats_messages(auth_client, user, bob, chat):
    add_messages(chat, bob, 2)
    add_messages(group_chat(user, bob), bob, 5)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}")) == [2, 1]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "chat_id=",
        "chat_id=abc",
        "chat_id=1.5",
        "chat_id=1.0",
        "chat_id=true",
        "chat_id=0",
        "chat_id=99999999999999999999",
        "chat_id={id}&limit=0",
        "chat_id={id}&limit=",
        "chat_id={id}&before_seq=",
        "chat_id={id}&limit=-1",
        "chat_id={id}&limit=x",
        "chat_id={id}&offset=-1",
        "chat_id={id}&before_seq=0",
        "chat_id={id}&after_seq=-1",
    ],
)
def test_history_returns_400_when_query_is_invalid(auth_client, chat, query):
    response = auth_client.get("/api/messages/get?" + query.format(id=chat.pk))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_history_returns_window_oldest_first_when_after_seq_and_before_seq(auth_client, bob, chat):
    add_messages(chat, bob, 10)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&after_seq=3&before_seq=7")) == [4, 5, 6]


def test_history_skips_offset_within_cursor_page(auth_client, bob, chat):
    add_messages(chat, bob, 10)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&before_seq=9&offset=2&limit=2")) == [
        6,
        5,
    ]


def test_history_returns_empty_list_when_after_seq_is_the_largest_id(auth_client, bob, chat):
    add_messages(chat, bob, 2)

    assert seqs(auth_client.get(f"/api/messages/get?chat_id={chat.pk}&after_seq=9223372036854775807")) == []


def test_history_returns_403_when_not_a_member(auth_client, bob, carol):
    theirs = private_chat(bob, carol)
    add_messages(theirs, bob, 2)

    response = auth_client.get(f"/api/messages/get?chat_id={theirs.pk}")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER


def test_history_returns_403_when_chat_does_not_exist(auth_client):
    response = auth_client.get("/api/messages/get?chat_id=987654321")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER


def test_history_returns_401_without_token(api_client, chat):
    assert api_client.get(f"/api/messages/get?chat_id={chat.pk}").status_code == 401


def test_unread_count_counts_others_messages_only(auth_client, make_client, user, bob, chat):
    send(make_client(bob), chat_id=chat.pk, content="one")
    send(make_client(bob), chat_id=chat.pk, content="two")
    send(auth_client, chat_id=chat.pk, content="mine")
    send(make_client(bob), chat_id=chat.pk, content="three")

    entry = auth_client.get("/api/chats").json()["chats"][0]

    assert entry["unread_count"] == 1
    assert entry["last_message"]["content"] == "three"
    assert Chat.objects.get(pk=chat.pk).last_seq == 4
