"""Ids outside 1 ..= 2**63 - 1 anywhere in a path, body or query: the API's JSON, never a 500 or a query."""

import json

import pytest
from channels.db import database_sync_to_async
from django.urls import get_resolver, resolve
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from chats.tests.factories import group_chat
from realtime.tests.wsclient import open_socket

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": "not found", "code": "not_found"}
# 0, one past the bigint range, far past it, past int()'s 4,300-digit limit, and zero-padded past it.
BAD_IDS = ["0", str(2**63), str(10**30), "9" * 5000, "0" * 5000]

# Every route with an id in its path (method, path with {id}); the other ids in it are valid.
ROUTES = [
    ("get", "/api/chats/{id}"),
    ("patch", "/api/chats/{id}"),
    ("post", "/api/chats/{id}/members"),
    ("post", "/api/chats/{id}/read"),
    ("delete", "/api/chats/{id}/members/{user}"),
    ("delete", "/api/chats/{chat}/members/{id}"),
    ("patch", "/api/messages/{id}"),
    ("delete", "/api/messages/{id}"),
    ("post", "/api/messages/{id}/reactions"),
    ("delete", "/api/messages/{id}/reactions/%F0%9F%91%8D"),
    ("get", "/api/attachments/{id}/download"),
    ("get", "/api/users/{id}"),
]
BODIES = {
    "/api/chats/{id}": {"name": "renamed"},
    "/api/chats/{id}/members": {"user_ids": [1]},
    "/api/chats/{id}/read": {"seq": 1},
    "/api/messages/{id}": {"content": "edited"},
    "/api/messages/{id}/reactions": {"emoji": "👍"},
}


@pytest.fixture
def client(user) -> APIClient:
    """Authenticated, and answering a crash with its 500 rather than raising it."""
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("bad_id", BAD_IDS, ids=lambda value: f"{value[:24]}({len(value)} digits)")
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=lambda value: value)
def test_path_id_outside_the_bigint_range_is_json_404_on_every_route(
    client, user, bob, method, route, bad_id
):
    chat = group_chat(user, bob)
    path = route.format(id=bad_id, user=bob.pk, chat=chat.pk)

    response = getattr(client, method)(path, BODIES.get(route), format="json")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_every_route_with_an_id_in_its_path_is_in_the_list():
    def routes(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                yield from routes(pattern, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    with_ids = {route for route in routes(get_resolver()) if "<id:" in route}
    listed = {resolve(path.format(id=1, user=1, chat=1)).route for _, path in ROUTES}

    assert with_ids == listed


def test_path_id_in_range_keeps_the_missing_object_answer(client):
    response = client.patch("/api/messages/987654321", {"content": "x"}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "message_not_found")


# --- ids in bodies and query strings ----------------------------------------------------------------


def test_body_id_past_the_digit_limit_is_invalid_json(client):
    body = '{"chat_id": ' + "9" * 5000 + ', "content": "hi"}'

    response = client.post("/api/messages/send", body, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")


@pytest.mark.parametrize("bad_id", [str(2**63), "9" * 5000])
@pytest.mark.parametrize("path", ["/api/messages/get", "/api/messages/changes?since_version=0"])
def test_query_chat_id_outside_the_bigint_range_is_400(client, path, bad_id):
    separator = "&" if "?" in path else "?"

    response = client.get(f"{path}{separator}chat_id={bad_id}")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@pytest.mark.parametrize(
    ("field", "value"),
    [("chat_id", 2**63), ("reply_to", 2**63), ("attachment_ids", [2**63]), ("attachment_ids", [0])],
)
def test_body_id_outside_the_bigint_range_is_400_on_send(client, user, bob, field, value):
    chat = group_chat(user, bob)
    body = {"chat_id": chat.pk, "content": "hi", field: value}

    response = client.post("/api/messages/send", body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert field in response.json()["fields"]


@pytest.mark.parametrize(("path", "body"), [("members", {"user_ids": [2**63]}), ("read", {"seq": 2**63})])
def test_body_number_outside_the_bigint_range_is_400_on_chat_routes(client, user, bob, path, body):
    chat = group_chat(user, bob)

    response = client.post(f"/api/chats/{chat.pk}/{path}", body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_group_participant_outside_the_bigint_range_is_400(client):
    response = client.post("/api/chats/group", {"name": "x", "participants": [2**63]}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("key", ["9" * 5000, str(2**63), "²", "0"])
async def test_resume_with_a_chat_id_key_outside_the_bigint_range_is_invalid_payload(key):
    user = await database_sync_to_async(UserFactory)()
    socket, _, _ = await open_socket(user)

    await socket.send_raw(json.dumps({"type": "resume", "payload": {"chats": {key: 0}}}))

    assert await socket.recv() == {
        "type": "error",
        "payload": {"message": "invalid payload", "code": "invalid_payload"},
    }
    await socket.send({"type": "resume", "payload": {"chats": {}}})
    assert (await socket.recv())["type"] == "resumed"
    await socket.close()
