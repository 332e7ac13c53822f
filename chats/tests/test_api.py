"""The chat endpoints over HTTP: every success and every error, and who may touch which chat."""

import re

import pytest
from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from chats.models import Chat, ChatMember
from chats.tests.factories import add_messages, group_chat, private_chat

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
NOT_MEMBER = {"error": "user is not a member of the chat", "code": "not_chat_member"}


def members_of(chat):
    return dict(ChatMember.objects.filter(chat=chat).values_list("user_id", "role"))


# --- POST /api/chats/private ------------------------------------------------------------------


def test_create_private_returns_chat(auth_client, bob):
    response = auth_client.post("/api/chats/private", {"user_id": bob.pk}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "type", "name", "created_at"}
    assert body["type"] == "private"
    assert body["name"] is None
    assert ISO_Z.match(body["created_at"])


def test_create_private_adds_both_users(auth_client, user, bob):
    chat_id = auth_client.post("/api/chats/private", {"user_id": bob.pk}, format="json").json()["id"]

    assert members_of(chat_id) == {user.pk: "member", bob.pk: "member"}


def test_create_private_returns_existing_chat_when_repeated(auth_client, bob):
    first = auth_client.post("/api/chats/private", {"user_id": bob.pk}, format="json").json()
    second = auth_client.post("/api/chats/private", {"user_id": bob.pk}, format="json").json()

    assert second == first
    assert Chat.objects.count() == 1


def test_create_private_returns_existing_chat_when_other_side_creates(auth_client, make_client, user, bob):
    mine = auth_client.post("/api/chats/private", {"user_id": bob.pk}, format="json").json()
    theirs = make_client(bob).post("/api/chats/private", {"user_id": user.pk}, format="json").json()

    assert theirs["id"] == mine["id"]


def test_create_private_returns_400_when_user_is_self(auth_client, user):
    response = auth_client.post("/api/chats/private", {"user_id": user.pk}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "cannot create a private chat with yourself",
        "code": "private_chat_with_self",
    }


@pytest.mark.parametrize("value", ["2", 2.5, True, None, [2], {"id": 2}, 0, -3, 2**63])
def test_create_private_returns_400_when_user_id_is_not_a_valid_id(auth_client, value):
    response = auth_client.post("/api/chats/private", {"user_id": value}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "user_id" in response.json()["fields"]


def test_create_private_returns_400_when_user_id_missing(auth_client):
    response = auth_client.post("/api/chats/private", {}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"user_id": ["This field is required."]}


def test_create_private_returns_400_when_json_is_malformed(auth_client):
    response = auth_client.post("/api/chats/private", '{"user_id": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "invalid json", "code": "invalid_json"}


def test_create_private_returns_404_when_user_unknown(auth_client):
    response = auth_client.post("/api/chats/private", {"user_id": 987654321}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"
    assert Chat.objects.count() == 0


def test_create_private_returns_404_when_user_deactivated(auth_client):
    banned = UserFactory(is_active=False)

    response = auth_client.post("/api/chats/private", {"user_id": banned.pk}, format="json")

    assert response.status_code == 404


def test_create_private_returns_401_without_token(api_client, bob):
    response = api_client.post("/api/chats/private", {"user_id": bob.pk}, format="json")

    assert response.status_code == 401


# --- POST /api/chats/group --------------------------------------------------------------------


def test_create_group_returns_chat(auth_client, bob, carol):
    response = auth_client.post(
        "/api/chats/group", {"name": "Project Team", "participants": [bob.pk, carol.pk]}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "group"
    assert body["name"] == "Project Team"
    assert ISO_Z.match(body["created_at"])


def test_create_group_makes_creator_owner_and_participants_members(auth_client, user, bob, carol):
    chat_id = auth_client.post(
        "/api/chats/group", {"name": "Team", "participants": [bob.pk, carol.pk]}, format="json"
    ).json()["id"]

    assert members_of(chat_id) == {user.pk: "owner", bob.pk: "member", carol.pk: "member"}


def test_create_group_ignores_duplicate_participants_and_the_creator(auth_client, user, bob):
    chat_id = auth_client.post(
        "/api/chats/group", {"name": "Team", "participants": [bob.pk, bob.pk, user.pk]}, format="json"
    ).json()["id"]

    assert members_of(chat_id) == {user.pk: "owner", bob.pk: "member"}


def test_create_group_allows_no_participants(auth_client, user):
    chat_id = auth_client.post(
        "/api/chats/group", {"name": "Notes", "participants": []}, format="json"
    ).json()["id"]

    assert members_of(chat_id) == {user.pk: "owner"}


def test_create_group_stores_name_trimmed(auth_client):
    chat_id = auth_client.post(
        "/api/chats/group", {"name": "  Team  ", "participants": []}, format="json"
    ).json()["id"]

    assert Chat.objects.get(pk=chat_id).name == "Team"


def test_create_group_accepts_255_character_name(auth_client):
    response = auth_client.post("/api/chats/group", {"name": "x" * 255, "participants": []}, format="json")

    assert response.status_code == 200


def test_create_group_returns_404_and_creates_nothing_when_a_participant_is_unknown(auth_client, bob):
    response = auth_client.post(
        "/api/chats/group", {"name": "Team", "participants": [bob.pk, 987654321]}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"
    assert "987654321" in response.json()["error"]
    assert Chat.objects.count() == 0
    assert ChatMember.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "participants": []},
        {"name": "   ", "participants": []},
        {"name": "x" * 256, "participants": []},
        {"name": 5, "participants": []},
        {"name": None, "participants": []},
        {"participants": []},
        {"name": "Team"},
        {"name": "Team", "participants": "2"},
        {"name": "Team", "participants": ["2"]},
        {"name": "Team", "participants": [True]},
        {"name": "Team", "participants": [0]},
        {"name": "Team\x00", "participants": []},
    ],
)
def test_create_group_returns_400_when_body_is_invalid(auth_client, body):
    response = auth_client.post("/api/chats/group", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert Chat.objects.count() == 0


def test_create_group_returns_401_without_token(api_client):
    response = api_client.post("/api/chats/group", {"name": "Team", "participants": []}, format="json")

    assert response.status_code == 401


# --- GET /api/chats ---------------------------------------------------------------------------


def test_list_chats_returns_empty_list_when_user_has_none(auth_client):
    response = auth_client.get("/api/chats")

    assert response.status_code == 200
    assert response.json() == {"chats": []}


def test_list_chats_returns_only_the_callers_chats(auth_client, user, bob, carol):
    mine = private_chat(user, bob)
    private_chat(bob, carol)

    chats = auth_client.get("/api/chats").json()["chats"]

    assert [chat["id"] for chat in chats] == [mine.pk]


def test_list_chats_returns_fields_with_last_message_and_unread_count(auth_client, user, bob):
    chat = group_chat(user, bob, name="Team")
    add_messages(chat, bob, 3)

    (entry,) = auth_client.get("/api/chats").json()["chats"]

    assert set(entry) == {"id", "type", "name", "created_at", "last_message", "unread_count"}
    assert entry["name"] == "Team"
    assert entry["unread_count"] == 3
    assert entry["last_message"]["seq"] == 3
    assert entry["last_message"]["content"] == "message 3"
    assert entry["last_message"]["sender_id"] == bob.pk


def test_list_chats_returns_null_last_message_when_chat_is_empty(auth_client, user, bob):
    private_chat(user, bob)

    (entry,) = auth_client.get("/api/chats").json()["chats"]

    assert entry["last_message"] is None
    assert entry["unread_count"] == 0


def test_list_chats_orders_most_recently_active_first(auth_client, user, bob, carol):
    older = group_chat(user, name="older")
    quiet = private_chat(user, carol)
    active = private_chat(user, bob)
    add_messages(older, user, 1)

    chats = auth_client.get("/api/chats").json()["chats"]

    # `older` has the newest message; `active` and `quiet` fall back to their creation time.
    assert [chat["id"] for chat in chats] == [older.pk, active.pk, quiet.pk]


def test_list_chats_returns_401_without_token(api_client):
    assert api_client.get("/api/chats").status_code == 401


# --- GET /api/chats/{id} ----------------------------------------------------------------------


def test_get_chat_returns_chat_with_members_and_roles(auth_client, user, bob, carol):
    chat = group_chat(user, carol, admins=(bob,), name="Team")

    response = auth_client.get(f"/api/chats/{chat.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == chat.pk
    assert body["name"] == "Team"
    assert body["members"] == [
        {"id": user.pk, "username": user.username, "role": "owner", "online": False, "last_read_seq": 0},
        {"id": bob.pk, "username": "bob", "role": "admin", "online": False, "last_read_seq": 0},
        {"id": carol.pk, "username": "carol", "role": "member", "online": False, "last_read_seq": 0},
    ]


def test_get_chat_lists_each_members_read_marker(auth_client, make_client, user, bob, carol):
    chat = group_chat(user, bob, carol, name="Team")
    for text in ("one", "two", "three"):
        auth_client.post("/api/messages/send", {"chat_id": chat.pk, "content": text}, format="json")
    make_client(bob).post(f"/api/chats/{chat.pk}/read", {"seq": 2}, format="json")

    members = auth_client.get(f"/api/chats/{chat.pk}").json()["members"]

    # Sending moves the sender's own marker; bob read up to 2; carol read nothing.
    assert {m["id"]: m["last_read_seq"] for m in members} == {user.pk: 3, bob.pk: 2, carol.pk: 0}


def test_get_chat_returns_403_when_not_a_member(auth_client, bob, carol):
    chat = private_chat(bob, carol)

    response = auth_client.get(f"/api/chats/{chat.pk}")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER


def test_get_chat_returns_403_when_chat_does_not_exist(auth_client):
    response = auth_client.get("/api/chats/987654321")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER


@pytest.mark.parametrize("chat_id", [0, 2**63, 10**30])
def test_get_chat_returns_404_when_id_is_outside_the_bigint_range(auth_client, chat_id):
    # Not an id at all, like "abc": the route does not match (tests/test_path_ids.py covers every route).
    response = auth_client.get(f"/api/chats/{chat_id}")

    assert (response.status_code, response.json()) == (404, {"error": "not found", "code": "not_found"})


def test_get_chat_returns_404_when_id_is_not_a_number(auth_client):
    response = auth_client.get("/api/chats/abc")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_get_chat_returns_401_without_token(api_client, user, bob):
    chat = private_chat(user, bob)

    assert api_client.get(f"/api/chats/{chat.pk}").status_code == 401


# --- PATCH /api/chats/{id} --------------------------------------------------------------------


def test_rename_chat_returns_renamed_chat_when_owner(auth_client, user):
    chat = group_chat(user, name="Old")

    response = auth_client.patch(f"/api/chats/{chat.pk}", {"name": "New"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "New"
    assert Chat.objects.get(pk=chat.pk).name == "New"


def test_rename_chat_succeeds_when_admin(make_client, user, bob):
    chat = group_chat(user, admins=(bob,), name="Old")

    response = make_client(bob).patch(f"/api/chats/{chat.pk}", {"name": "New"}, format="json")

    assert response.status_code == 200
    assert Chat.objects.get(pk=chat.pk).name == "New"


def test_rename_chat_returns_403_when_plain_member(make_client, user, bob):
    chat = group_chat(user, bob, name="Old")

    response = make_client(bob).patch(f"/api/chats/{chat.pk}", {"name": "New"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "not_chat_admin"
    assert Chat.objects.get(pk=chat.pk).name == "Old"


def test_rename_chat_returns_403_when_not_a_member(auth_client, bob):
    chat = group_chat(bob, name="Old")

    response = auth_client.patch(f"/api/chats/{chat.pk}", {"name": "New"}, format="json")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER


def test_rename_chat_returns_400_when_chat_is_private(auth_client, user, bob):
    chat = private_chat(user, bob)

    response = auth_client.patch(f"/api/chats/{chat.pk}", {"name": "New"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "not_group_chat"


@pytest.mark.parametrize("name", ["", "  ", "x" * 256, 7, None])
def test_rename_chat_returns_400_when_name_is_invalid(auth_client, user, name):
    chat = group_chat(user, name="Old")

    response = auth_client.patch(f"/api/chats/{chat.pk}", {"name": name}, format="json")

    assert response.status_code == 400
    assert Chat.objects.get(pk=chat.pk).name == "Old"


def test_rename_chat_changes_nothing_when_body_is_empty(auth_client, user):
    chat = group_chat(user, name="Old")

    response = auth_client.patch(f"/api/chats/{chat.pk}", {}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Old"


# --- POST /api/chats/{id}/members -------------------------------------------------------------


def test_add_members_returns_chat_with_new_members_when_owner(auth_client, user, bob, carol):
    chat = group_chat(user)

    response = auth_client.post(
        f"/api/chats/{chat.pk}/members", {"user_ids": [bob.pk, carol.pk]}, format="json"
    )

    assert response.status_code == 200
    assert [(m["id"], m["role"]) for m in response.json()["members"]] == [
        (user.pk, "owner"),
        (bob.pk, "member"),
        (carol.pk, "member"),
    ]


def test_add_members_succeeds_when_admin(make_client, user, bob, carol):
    chat = group_chat(user, admins=(bob,))

    response = make_client(bob).post(f"/api/chats/{chat.pk}/members", {"user_ids": [carol.pk]}, format="json")

    assert response.status_code == 200
    assert members_of(chat)[carol.pk] == "member"


def test_add_members_skips_users_already_in_the_chat(auth_client, user, bob):
    chat = group_chat(user, admins=(bob,))

    response = auth_client.post(
        f"/api/chats/{chat.pk}/members", {"user_ids": [bob.pk, bob.pk]}, format="json"
    )

    assert response.status_code == 200
    assert members_of(chat) == {user.pk: "owner", bob.pk: "admin"}


def test_add_members_returns_403_when_plain_member(make_client, user, bob, carol):
    chat = group_chat(user, bob)

    response = make_client(bob).post(f"/api/chats/{chat.pk}/members", {"user_ids": [carol.pk]}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "not_chat_admin"
    assert carol.pk not in members_of(chat)


def test_add_members_returns_403_when_not_a_member(auth_client, bob, carol):
    chat = group_chat(bob)

    response = auth_client.post(f"/api/chats/{chat.pk}/members", {"user_ids": [carol.pk]}, format="json")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER


def test_add_members_returns_400_when_chat_is_private(auth_client, user, bob, carol):
    chat = private_chat(user, bob)

    response = auth_client.post(f"/api/chats/{chat.pk}/members", {"user_ids": [carol.pk]}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "private_chat_membership"
    assert set(members_of(chat)) == {user.pk, bob.pk}


def test_add_members_returns_404_and_adds_nobody_when_a_user_is_unknown(auth_client, user, bob):
    chat = group_chat(user)

    response = auth_client.post(
        f"/api/chats/{chat.pk}/members", {"user_ids": [bob.pk, 987654321]}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"
    assert members_of(chat) == {user.pk: "owner"}


@pytest.mark.parametrize(
    "body", [{}, {"user_ids": []}, {"user_ids": ["3"]}, {"user_ids": 3}, {"user_ids": [1.5]}]
)
def test_add_members_returns_400_when_body_is_invalid(auth_client, user, body):
    chat = group_chat(user)

    response = auth_client.post(f"/api/chats/{chat.pk}/members", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


# --- DELETE /api/chats/{id}/members/{user_id} -------------------------------------------------


def test_remove_member_returns_204_when_owner_removes_member(auth_client, user, bob):
    chat = group_chat(user, bob)

    response = auth_client.delete(f"/api/chats/{chat.pk}/members/{bob.pk}")

    assert response.status_code == 204
    assert members_of(chat) == {user.pk: "owner"}


def test_remove_member_succeeds_when_owner_removes_admin(auth_client, user, bob):
    chat = group_chat(user, admins=(bob,))

    assert auth_client.delete(f"/api/chats/{chat.pk}/members/{bob.pk}").status_code == 204
    assert bob.pk not in members_of(chat)


def test_remove_member_succeeds_when_admin_removes_member(make_client, user, bob, carol):
    chat = group_chat(user, carol, admins=(bob,))

    assert make_client(bob).delete(f"/api/chats/{chat.pk}/members/{carol.pk}").status_code == 204
    assert carol.pk not in members_of(chat)


@pytest.mark.parametrize("target", ["owner", "other_admin"])
def test_remove_member_returns_403_when_admin_removes_owner_or_admin(make_client, user, bob, carol, target):
    chat = group_chat(user, admins=(bob, carol))
    victim = user if target == "owner" else carol

    response = make_client(bob).delete(f"/api/chats/{chat.pk}/members/{victim.pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "cannot_remove_member"
    assert victim.pk in members_of(chat)


def test_remove_member_returns_403_when_plain_member_removes_someone(make_client, user, bob, carol):
    chat = group_chat(user, bob, carol)

    response = make_client(bob).delete(f"/api/chats/{chat.pk}/members/{carol.pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "not_chat_admin"
    assert carol.pk in members_of(chat)


def test_remove_member_returns_403_when_not_a_member(auth_client, bob, carol):
    chat = group_chat(bob, carol)

    response = auth_client.delete(f"/api/chats/{chat.pk}/members/{carol.pk}")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER
    assert carol.pk in members_of(chat)


def test_remove_member_returns_404_when_user_not_in_chat(auth_client, user, bob):
    chat = group_chat(user)

    response = auth_client.delete(f"/api/chats/{chat.pk}/members/{bob.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "member_not_found"


def test_remove_member_returns_400_when_chat_is_private(auth_client, user, bob):
    chat = private_chat(user, bob)

    response = auth_client.delete(f"/api/chats/{chat.pk}/members/{bob.pk}")

    assert response.status_code == 400
    assert response.json()["code"] == "private_chat_membership"
    assert set(members_of(chat)) == {user.pk, bob.pk}


def test_leave_chat_returns_204_when_plain_member_leaves(make_client, user, bob):
    chat = group_chat(user, bob)

    assert make_client(bob).delete(f"/api/chats/{chat.pk}/members/{bob.pk}").status_code == 204
    assert members_of(chat) == {user.pk: "owner"}


def test_leave_chat_hands_ownership_to_longest_standing_admin_when_owner_leaves(
    auth_client, user, bob, carol, dave
):
    chat = group_chat(user, dave, admins=(bob, carol))

    assert auth_client.delete(f"/api/chats/{chat.pk}/members/{user.pk}").status_code == 204
    assert members_of(chat) == {bob.pk: "owner", carol.pk: "admin", dave.pk: "member"}


def test_leave_chat_hands_ownership_to_longest_standing_member_when_owner_leaves_without_admins(
    auth_client, user, bob, carol
):
    chat = group_chat(user, bob, carol)

    auth_client.delete(f"/api/chats/{chat.pk}/members/{user.pk}")

    assert members_of(chat) == {bob.pk: "owner", carol.pk: "member"}


def test_leave_chat_leaves_no_members_when_last_member_leaves(auth_client, user):
    chat = group_chat(user)

    assert auth_client.delete(f"/api/chats/{chat.pk}/members/{user.pk}").status_code == 204
    assert members_of(chat) == {}


def test_removed_member_loses_access_to_chat_and_history_at_once(auth_client, make_client, user, bob):
    chat = group_chat(user, bob)
    add_messages(chat, user, 2)
    bob_client = make_client(bob)
    auth_client.delete(f"/api/chats/{chat.pk}/members/{bob.pk}")

    assert bob_client.get(f"/api/chats/{chat.pk}").status_code == 403
    assert bob_client.get(f"/api/messages/get?chat_id={chat.pk}").status_code == 403
    assert (
        bob_client.post(
            "/api/messages/send", {"chat_id": chat.pk, "content": "hi"}, format="json"
        ).status_code
        == 403
    )
    assert bob_client.get("/api/chats").json() == {"chats": []}


def test_remove_member_returns_404_when_user_id_is_not_a_number(auth_client, user):
    chat = group_chat(user)

    assert auth_client.delete(f"/api/chats/{chat.pk}/members/bob").status_code == 404


# --- POST /api/chats/{id}/read ----------------------------------------------------------------


def test_mark_read_returns_read_state(auth_client, user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 5)

    response = auth_client.post(f"/api/chats/{chat.pk}/read", {"seq": 3}, format="json")

    assert response.status_code == 200
    assert response.json() == {"chat_id": chat.pk, "last_read_seq": 3, "unread_count": 2}


def test_mark_read_drives_unread_count_in_chat_list(auth_client, user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 5)

    auth_client.post(f"/api/chats/{chat.pk}/read", {"seq": 5}, format="json")

    assert auth_client.get("/api/chats").json()["chats"][0]["unread_count"] == 0


def test_mark_read_never_moves_backwards(auth_client, user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 5)
    auth_client.post(f"/api/chats/{chat.pk}/read", {"seq": 4}, format="json")

    response = auth_client.post(f"/api/chats/{chat.pk}/read", {"seq": 2}, format="json")

    assert response.status_code == 200
    assert response.json()["last_read_seq"] == 4
    assert ChatMember.objects.get(chat=chat, user=user).last_read_seq == 4


def test_mark_read_returns_400_when_seq_is_after_newest_message(auth_client, user, bob):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 2)

    response = auth_client.post(f"/api/chats/{chat.pk}/read", {"seq": 3}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_seq"


@pytest.mark.parametrize("body", [{}, {"seq": -1}, {"seq": "2"}, {"seq": True}, {"seq": 1.5}])
def test_mark_read_returns_400_when_seq_is_invalid(auth_client, user, bob, body):
    chat = private_chat(user, bob)
    add_messages(chat, bob, 2)

    response = auth_client.post(f"/api/chats/{chat.pk}/read", body, format="json")

    assert response.status_code == 400


def test_mark_read_returns_403_when_not_a_member(auth_client, bob, carol):
    chat = private_chat(bob, carol)
    add_messages(chat, bob, 2)

    response = auth_client.post(f"/api/chats/{chat.pk}/read", {"seq": 1}, format="json")

    assert response.status_code == 403
    assert response.json() == NOT_MEMBER
    assert not ChatMember.objects.filter(chat=chat, last_read_seq__gt=0).exists()


# --- moderators: the same membership rule as the admin ------------------------------------------


def moderator():
    """A staff user holding the chatmember permissions (what the Moderators group grants)."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_chatmember", "add_chatmember", "change_chatmember", "delete_chatmember"]
        )
    )
    return user


def test_add_members_by_moderator_not_in_the_chat_returns_the_chat(make_client, user, bob):
    chat = group_chat(user)

    response = make_client(moderator()).post(
        f"/api/chats/{chat.pk}/members", {"user_ids": [bob.pk]}, format="json"
    )

    assert response.status_code == 200
    assert members_of(chat) == {user.pk: "owner", bob.pk: "member"}


def test_add_members_by_staff_without_permission_is_not_member(make_client, user, bob):
    chat = group_chat(user)

    response = make_client(UserFactory(is_staff=True)).post(
        f"/api/chats/{chat.pk}/members", {"user_ids": [bob.pk]}, format="json"
    )

    assert (response.status_code, response.json()) == (403, NOT_MEMBER)
    assert members_of(chat) == {user.pk: "owner"}
