"""The chat socket through the real routing stack (origin check, JWT middleware, consumer)."""

import asyncio
import json
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import services as account_services
from accounts.sessions import Session
from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging import selectors as message_selectors
from messaging import services as message_services
from messaging.models import Message
from messaging.payloads import message_payload
from realtime.tests.wsclient import access_token, open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

db = database_sync_to_async


@db
def make_user(**kwargs):
    return UserFactory(**kwargs)


@db
def private_chat(a, b):
    chat, _ = chat_services.chat_create_private(user=a, other_user_id=b.pk)
    return chat


@db
def group_chat(creator, members, name="team"):
    return chat_services.chat_create_group(
        creator=creator, name=name, participant_ids=[m.pk for m in members]
    )


@db
def send(chat, sender, content="hello", **kwargs):
    return message_services.message_send(chat_id=chat.pk, sender=sender, content=content, **kwargs)


@db
def rest_send(user, chat_id, content):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    return client.post("/api/messages/send", {"chat_id": chat_id, "content": content}, format="json")


async def pair():
    alice, bob = await make_user(), await make_user()
    chat = await private_chat(alice, bob)
    return alice, bob, chat


def send_frame(chat_id, content, **extra):
    return {"type": "send_message", "payload": {"chat_id": chat_id, "content": content, **extra}}


# --- credentials ---------------------------------------------------------------------------------


async def test_connect_with_authorization_header_is_accepted():
    alice, _, _ = await pair()
    socket, accepted, _ = await open_socket(alice)
    assert accepted
    assert await socket.nothing()
    await socket.close()


async def test_connect_without_credential_closes_4401():
    socket, accepted, _ = await open_socket()
    assert accepted
    assert await socket.recv_close() == 4401


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", ""])
async def test_connect_with_malformed_token_closes_4401(token):
    socket, _, _ = await open_socket(token=token)
    assert await socket.recv_close() == 4401


async def test_connect_with_refresh_token_closes_4401():
    alice = await make_user()
    refresh = await db(lambda: str(RefreshToken.for_user(alice)))()
    socket, _, _ = await open_socket(token=refresh)
    assert await socket.recv_close() == 4401


async def test_connect_with_expired_token_closes_4401():
    alice = await make_user()
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=-5))
    socket, _, _ = await open_socket(token=str(token))
    assert await socket.recv_close() == 4401


async def test_connect_as_deactivated_user_closes_4401():
    alice = await make_user(is_active=False)
    socket, _, _ = await open_socket(alice)
    assert await socket.recv_close() == 4401


async def test_connect_with_bearer_subprotocol_echoes_protocol_name():
    alice = await make_user()
    token = await db(access_token)(alice)
    socket, accepted, subprotocol = await open_socket(subprotocols=["chat", f"bearer.{token}"])
    assert accepted
    assert subprotocol == "chat"
    assert await socket.nothing()
    await socket.close()


@db
def issue_ticket(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    response = client.post("/api/ws/ticket")
    assert response.status_code == 201
    assert response.json()["expires_in"] == 30
    return response.json()["ticket"]


async def test_connect_with_ticket_is_accepted():
    alice, bob, chat = await pair()
    ticket = await issue_ticket(alice)
    socket, accepted, _ = await open_socket(query=f"ticket={ticket}")
    assert accepted
    await send(chat, bob, "via ticket")
    frame = await socket.recv()
    assert frame["payload"]["content"] == "via ticket"
    await socket.close()


async def test_connect_with_used_ticket_closes_4401():
    alice = await make_user()
    ticket = await issue_ticket(alice)
    first, _, _ = await open_socket(query=f"ticket={ticket}")
    assert await first.nothing()
    second, _, _ = await open_socket(query=f"ticket={ticket}")
    assert await second.recv_close() == 4401
    await first.close()


async def test_connect_with_expired_ticket_closes_4401(settings, chat_overrides):
    chat_overrides.WS_TICKET_SECONDS = -1
    alice = await make_user()
    ticket = await db(
        lambda: __import__("realtime.tickets").tickets.ws_ticket_issue(
            user=alice, access_expires_at=timezone.now() + timedelta(minutes=5), session=Session("", 0)
        )
    )()
    socket, _, _ = await open_socket(query=f"ticket={ticket}")
    assert await socket.recv_close() == 4401


async def test_ws_ticket_requires_authentication():
    response = await db(lambda: APIClient().post("/api/ws/ticket"))()
    assert response.status_code == 401
    assert "error" in response.json()


# --- origin ------------------------------------------------------------------------------------


async def test_connect_from_foreign_origin_is_refused(settings, chat_overrides):
    chat_overrides.WS_ALLOWED_ORIGINS = ["chat.example.com"]
    alice = await make_user()
    _, accepted, _ = await open_socket(alice, headers=[(b"origin", b"https://evil.example.net")])
    assert not accepted


async def test_connect_from_allowed_origin_is_accepted(settings, chat_overrides):
    chat_overrides.WS_ALLOWED_ORIGINS = ["chat.example.com"]
    alice = await make_user()
    socket, accepted, _ = await open_socket(alice, headers=[(b"origin", b"https://chat.example.com")])
    assert accepted
    await socket.close()


async def test_connect_from_a_cors_allowed_origin_is_accepted(settings, chat_overrides):
    chat_overrides.WS_ALLOWED_ORIGINS = ["chat.example.com"]
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    alice = await make_user()
    socket, accepted, _ = await open_socket(alice, headers=[(b"origin", b"https://app.example.com")])
    assert accepted
    await socket.close()
    # The scheme counts: the CORS entry is a full origin.
    _, accepted, _ = await open_socket(alice, headers=[(b"origin", b"http://app.example.com")])
    assert not accepted


async def test_connect_without_origin_is_accepted(settings, chat_overrides):
    chat_overrides.WS_ALLOWED_ORIGINS = ["chat.example.com"]
    alice = await make_user()
    socket, accepted, _ = await open_socket(alice)
    assert accepted
    await socket.close()


# --- send_message --------------------------------------------------------------------------------


async def test_send_message_reaches_every_member_socket_including_sender():
    alice, bob, chat = await pair()
    a, _, _ = await open_socket(alice)
    b, _, _ = await open_socket(bob)
    await a.send(send_frame(chat.pk, "hi bob"))
    got_a, got_b = await a.recv(), await b.recv()
    assert got_a == got_b
    assert got_a["type"] == "new_message"
    stored = await db(
        lambda: message_payload(
            message_selectors.message_get_for_member(message_id=got_a["payload"]["id"], user=alice)
        )
    )()
    assert got_a["payload"] == stored
    assert got_a["payload"]["sender_id"] == alice.pk
    await a.close()
    await b.close()


async def test_send_message_payload_equals_rest_payload():
    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob)
    response = await rest_send(alice, chat.pk, "from rest")
    assert response.status_code == 200
    frame = await b.recv()
    assert frame == {"type": "new_message", "payload": response.json()}
    await b.close()


async def test_send_message_with_client_id_twice_stores_one_and_answers_both():
    alice, _, chat = await pair()
    a, _, _ = await open_socket(alice)
    await a.send(send_frame(chat.pk, "once", client_id="c-1"))
    first = await a.recv()
    await a.send(send_frame(chat.pk, "once", client_id="c-1"))
    second = await a.recv()
    assert first == second
    assert await db(lambda: Message.objects.filter(chat=chat).count())() == 1
    await a.close()


async def test_non_member_never_receives_chat_frames():
    alice, _, chat = await pair()
    eve = await make_user()
    e, _, _ = await open_socket(eve)
    await send(chat, alice, "secret")
    assert await e.nothing(0.5)
    await e.close()


async def test_rolled_back_send_broadcasts_nothing():
    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob)

    @db
    def send_then_roll_back():
        with transaction.atomic():
            message_services.message_send(chat_id=chat.pk, sender=alice, content="never")
            transaction.set_rollback(True)

    await send_then_roll_back()
    assert await b.nothing(0.5)
    assert await db(lambda: Message.objects.filter(chat=chat).count())() == 0
    await b.close()


# --- errors --------------------------------------------------------------------------------------


async def expect_error(socket, message, client_id=None):
    frame = await socket.recv()
    assert frame["type"] == "error"
    assert frame["payload"]["message"] == message
    assert frame["payload"]["code"]
    if client_id is not None:
        assert frame["payload"]["client_id"] == client_id
    return frame


async def test_not_json_gets_invalid_message_format():
    alice = await make_user()
    a, _, _ = await open_socket(alice)
    await a.send_raw("{not json")
    await expect_error(a, "invalid message format")
    await a.send_raw(json.dumps(["a", "list"]))
    await expect_error(a, "invalid message format")
    await a.close()


async def test_unknown_type_gets_unknown_message_type():
    alice = await make_user()
    a, _, _ = await open_socket(alice)
    await a.send_raw(json.dumps({"type": "dance", "payload": {}}))
    await expect_error(a, "unknown message type")
    await a.close()


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        {"chat_id": "1", "content": "x"},
        {"chat_id": True, "content": "x"},
        {"content": "x"},
        {"chat_id": 1},
        {"chat_id": 1, "content": 5},
    ],
)
async def test_bad_payload_gets_invalid_payload(payload):
    alice = await make_user()
    a, _, _ = await open_socket(alice)
    await a.send_raw(json.dumps({"type": "send_message", "payload": payload}))
    await expect_error(a, "invalid payload")
    await a.close()


async def test_send_to_foreign_chat_gets_not_a_member_with_client_id_echo():
    _, _, chat = await pair()
    eve = await make_user()
    e, _, _ = await open_socket(eve)
    await e.send(send_frame(chat.pk, "let me in", client_id="x-9"))
    await expect_error(e, "you are not a member of this chat", client_id="x-9")
    await e.send(send_frame(10**9, "nowhere"))
    await expect_error(e, "you are not a member of this chat")
    await e.close()


async def test_blank_content_gets_content_cannot_be_empty():
    alice, _, chat = await pair()
    a, _, _ = await open_socket(alice)
    await a.send_raw(json.dumps(send_frame(chat.pk, "   ", client_id="blank")))
    await expect_error(a, "message content cannot be empty", client_id="blank")
    assert await db(lambda: Message.objects.count())() == 0
    await a.close()


async def test_socket_stays_open_after_errors():
    alice, _, chat = await pair()
    a, _, _ = await open_socket(alice)
    await a.send_raw("nope")
    await expect_error(a, "invalid message format")
    await a.send(send_frame(chat.pk, "still here"))
    assert (await a.recv())["payload"]["content"] == "still here"
    await a.close()


async def test_frame_over_64_kib_closes_1009():
    alice = await make_user()
    a, _, _ = await open_socket(alice)
    await a.send_raw(json.dumps(send_frame(1, "x" * (64 * 1024))))
    assert await a.recv_close() == 1009


async def test_every_frame_type_counts_against_the_frame_rate(settings, chat_overrides):
    """A flood of resume, typing or malformed frames is refused like a flood of sends, with one answer."""
    chat_overrides.WS_FRAME_RATE_PER_SECOND = 5
    chat_overrides.WS_FRAME_BURST = 5
    alice, _, chat = await pair()
    a, _, _ = await open_socket(alice)
    resume = {"type": "resume", "payload": {"chats": {str(chat.pk): 0}}}
    for _ in range(5):
        await a.send(resume)
    for _ in range(3):
        await a.send_raw("not json")
        await a.send({"type": "typing", "payload": {"chat_id": chat.pk}})
    got = [await a.recv() for _ in range(6)]
    assert [f["type"] for f in got] == ["resumed"] * 5 + ["error"]
    assert got[5]["payload"]["code"] == "rate_limited"
    assert got[5]["payload"]["retry_after"] > 0
    assert await a.nothing(0.3)  # the other refused frames got no answer of their own
    await asyncio.sleep(0.5)  # the bucket refills: frames are accepted again
    await a.send(resume)
    assert (await a.recv())["type"] == "resumed"
    await a.close()


async def test_deeply_nested_json_is_invalid_format_and_the_socket_stays_open():
    alice, _, chat = await pair()
    a, _, _ = await open_socket(alice)
    await a.send_raw("[" * 30_000 + "]" * 30_000)
    await expect_error(a, "invalid message format")
    await a.send_raw('{"type": "typing", "payload": ' + "{" * 30_000 + "}" * 30_000 + "}")
    await expect_error(a, "invalid message format")
    await a.send(send_frame(chat.pk, "still open"))
    assert (await a.recv())["payload"]["content"] == "still open"
    await a.close()


async def test_sends_over_rate_get_rate_limit_exceeded(settings, chat_overrides):
    chat_overrides.WS_SEND_RATE_PER_SECOND = 3
    alice, _, chat = await pair()
    a, _, _ = await open_socket(alice)
    for i in range(4):
        await a.send(send_frame(chat.pk, f"m{i}", client_id=f"r{i}"))
    frames = [await a.recv() for _ in range(4)]
    errors = [f for f in frames if f["type"] == "error"]
    assert len(errors) == 1
    retry_after = errors[0]["payload"].pop("retry_after")
    assert 0 < retry_after <= 1 / 3
    assert errors[0]["payload"] == {
        "message": "rate limit exceeded",
        "code": "rate_limited",
        "client_id": "r3",
    }
    await a.close()


# --- typing and read -----------------------------------------------------------------------------


async def test_typing_reaches_other_members_once_per_interval():
    alice, bob, chat = await pair()
    a, _, _ = await open_socket(alice)
    b, _, _ = await open_socket(bob)
    await a.send({"type": "typing", "payload": {"chat_id": chat.pk}})
    assert await b.recv() == {"type": "typing", "payload": {"chat_id": chat.pk, "user_id": alice.pk}}
    await a.send({"type": "typing", "payload": {"chat_id": chat.pk}})
    assert await b.nothing(0.4)
    assert await a.nothing(0.1)
    await a.close()
    await b.close()


async def test_typing_in_foreign_chat_gets_not_a_member():
    _, _, chat = await pair()
    eve = await make_user()
    e, _, _ = await open_socket(eve)
    await e.send({"type": "typing", "payload": {"chat_id": chat.pk}})
    await expect_error(e, "you are not a member of this chat")
    await e.close()


async def test_read_frame_marks_read_and_tells_members():
    alice, bob, chat = await pair()
    message = await send(chat, alice, "read me")
    a, _, _ = await open_socket(alice)
    b, _, _ = await open_socket(bob)
    await b.send({"type": "read", "payload": {"chat_id": chat.pk, "seq": message.seq}})
    expected = {"type": "read", "payload": {"chat_id": chat.pk, "user_id": bob.pk, "seq": message.seq}}
    assert await a.recv() == expected
    assert await b.recv() == expected
    await a.close()
    await b.close()


# --- live membership -----------------------------------------------------------------------------


async def test_user_without_chats_connects_and_joins_new_private_chat():
    alice, bob = await make_user(), await make_user()
    b, accepted, _ = await open_socket(bob)
    assert accepted
    chat = await private_chat(alice, bob)
    created = await b.recv()
    assert created["type"] == "chat_created"
    assert created["payload"]["id"] == chat.pk
    await send(chat, alice, "welcome")
    assert (await b.recv())["payload"]["content"] == "welcome"
    await b.close()


async def test_added_member_socket_joins_group_at_once():
    owner, carol = await make_user(), await make_user()
    chat = await group_chat(owner, [])
    o, _, _ = await open_socket(owner)
    c, _, _ = await open_socket(carol)
    await db(chat_services.member_add)(chat_id=chat.pk, actor=owner, user_ids=[carol.pk])
    added_c = await c.recv()
    assert added_c["type"] == "member_added"
    assert added_c["payload"]["user_id"] == carol.pk
    assert (await o.recv())["type"] == "member_added"
    await send(chat, owner, "hi carol")
    assert (await c.recv())["payload"]["content"] == "hi carol"
    assert (await o.recv())["payload"]["content"] == "hi carol"
    assert await c.nothing(0.2)
    await o.close()
    await c.close()


async def test_removed_member_socket_stops_receiving_chat():
    owner, carol = await make_user(), await make_user()
    chat = await group_chat(owner, [carol])
    c, _, _ = await open_socket(carol)
    await db(chat_services.member_remove)(chat_id=chat.pk, actor=owner, user_id=carol.pk)
    removed = await c.recv()
    assert removed == {"type": "member_removed", "payload": {"chat_id": chat.pk, "user_id": carol.pk}}
    await send(chat, owner, "after removal")
    assert await c.nothing(0.5)
    await c.close()


# --- closing by the server -----------------------------------------------------------------------


async def test_token_expiry_closes_socket_4401():
    alice = await make_user()
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=1))
    a, accepted, _ = await open_socket(token=str(token))
    assert accepted
    assert await a.recv_close(timeout=4) == 4401


async def test_deactivation_closes_every_socket_4403():
    alice = await make_user()
    first, _, _ = await open_socket(alice)
    second, _, _ = await open_socket(alice)
    await db(account_services.user_deactivate)(user=alice)
    assert await first.recv_close() == 4403
    assert await second.recv_close() == 4403


# --- nothing lost ----------------------------------------------------------------------------------


async def test_resume_after_disconnect_mid_burst_delivers_each_message_once_in_order():
    alice, bob, chat = await pair()
    total = 500
    b, _, _ = await open_socket(bob)

    def burst():
        # A real thread of its own, like another server process sending.
        try:
            for i in range(total):
                message_services.message_send(chat_id=chat.pk, sender=alice, content=f"m{i}")
        finally:
            connection.close()

    sender = asyncio.create_task(asyncio.to_thread(burst))
    seen: list[int] = []
    while len(seen) < 120:
        frame = await b.recv(timeout=10)
        seen.append(frame["payload"]["seq"])
    await b.close()  # disconnect in the middle of the burst
    b2, _, _ = await open_socket(bob)
    await b2.send({"type": "resume", "payload": {"chats": {str(chat.pk): seen[-1]}}})
    while True:
        frame = await b2.recv(timeout=10)
        if frame["type"] == "resumed":
            continue
        seen.append(frame["payload"]["seq"])
        if len(seen) == total:
            break
    await sender
    assert seen == list(range(1, total + 1))
    assert await b2.nothing(0.5)
    await b2.close()


async def test_resume_beyond_replay_limit_sends_resync_required(settings, chat_overrides):
    chat_overrides.WS_REPLAY_LIMIT = 5
    alice, bob, chat = await pair()
    for i in range(8):
        await send(chat, alice, f"m{i}")
    b, _, _ = await open_socket(bob)
    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})
    assert await b.recv() == {"type": "resync_required", "payload": {"chat_id": chat.pk}}
    assert (await b.recv())["type"] == "resumed"
    await b.close()


async def test_resume_of_foreign_chat_gets_not_a_member():
    _, _, chat = await pair()
    eve = await make_user()
    e, _, _ = await open_socket(eve)
    await e.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})
    frame = await expect_error(e, "you are not a member of this chat")
    assert frame["payload"]["chat_id"] == chat.pk
    assert (await e.recv()) == {"type": "resumed", "payload": {"chats": {}}}
    await e.close()


async def test_lost_broadcast_is_repaired_from_database_before_next_message(monkeypatch):
    import realtime.broadcast

    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob)
    await send(chat, alice, "one")
    assert (await b.recv())["payload"]["seq"] == 1
    original = realtime.broadcast.send_to_group
    monkeypatch.setattr(realtime.broadcast, "send_to_group", lambda *args: None)
    await send(chat, alice, "two (broadcast lost)")
    monkeypatch.setattr(realtime.broadcast, "send_to_group", original)
    await send(chat, alice, "three")
    got = [await b.recv(), await b.recv()]
    assert [f["payload"]["seq"] for f in got] == [2, 3]
    assert got[0]["payload"]["content"] == "two (broadcast lost)"
    await b.close()


async def test_live_message_before_resume_reaches_the_client_once_after_the_replay():
    alice, bob, chat = await pair()
    await send(chat, alice, "one")
    b, _, _ = await open_socket(bob)
    await send(chat, alice, "two")  # live: its broadcast reaches the socket before the client's resume
    await asyncio.sleep(0.1)
    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})

    frames = [await b.recv() for _ in range(3)]

    assert [(f["type"], f["payload"].get("seq")) for f in frames] == [
        ("new_message", 1),
        ("new_message", 2),
        ("resumed", None),
    ]
    assert await b.nothing(0.5)
    await b.close()


async def test_a_client_that_promised_resume_gets_the_replay_first_even_when_it_resumes_late(chat_overrides):
    # Its resume comes after WS_RESUME_WAIT_SECONDS (a slow link, or a client busy reconnecting many
    # sockets): with ?resume=1 the live message still waits for it, and the client holds seq 1 before 2.
    chat_overrides.WS_RESUME_WAIT_SECONDS = 0.2
    alice, bob, chat = await pair()
    await send(chat, alice, "one")
    b, _, _ = await open_socket(bob, query="resume=1")
    await send(chat, alice, "two")
    assert await b.nothing(0.6)

    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})

    frames = [await b.recv() for _ in range(3)]
    assert [(f["type"], f["payload"].get("seq")) for f in frames] == [
        ("new_message", 1),
        ("new_message", 2),
        ("resumed", None),
    ]
    await b.close()


async def test_a_promised_resume_that_never_comes_releases_live_messages_after_the_longer_wait(
    chat_overrides,
):
    chat_overrides.WS_RESUME_WAIT_SECONDS = 0.1
    chat_overrides.WS_RESUME_PROMISED_WAIT_SECONDS = 0.6
    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob, query="resume=1")
    await send(chat, alice, "hi")

    assert await b.nothing(0.3)
    frame = await b.recv(timeout=2)
    assert (frame["type"], frame["payload"]["content"]) == ("new_message", "hi")
    await b.close()


async def test_live_message_reaches_a_client_that_never_resumes(settings, chat_overrides):
    chat_overrides.WS_RESUME_WAIT_SECONDS = 0.2
    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob)

    await send(chat, alice, "hi")

    frame = await b.recv(timeout=2)
    assert (frame["type"], frame["payload"]["content"]) == ("new_message", "hi")
    await b.close()


async def test_first_client_frame_other_than_resume_releases_held_messages_at_once(settings, chat_overrides):
    chat_overrides.WS_RESUME_WAIT_SECONDS = 30
    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob)
    await send(chat, alice, "held")
    await asyncio.sleep(0.1)

    await b.send({"type": "typing", "payload": {"chat_id": chat.pk}})

    frame = await b.recv(timeout=2)
    assert (frame["type"], frame["payload"]["content"]) == ("new_message", "held")
    await b.close()


async def test_broadcasts_out_of_order_are_delivered_in_seq_order_without_a_database_replay(monkeypatch):
    import realtime.broadcast
    import realtime.selectors

    alice, bob, chat = await pair()
    b, _, _ = await open_socket(bob)
    await b.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})
    assert (await b.recv())["type"] == "resumed"
    held = []
    original = realtime.broadcast.send_to_group
    monkeypatch.setattr(realtime.broadcast, "send_to_group", lambda *args: held.append(args))
    await send(chat, alice, "first")
    await send(chat, alice, "second")
    monkeypatch.setattr(realtime.broadcast, "send_to_group", original)
    replays = []
    original_replay = realtime.selectors.message_window
    monkeypatch.setattr(
        realtime.selectors,
        "message_window",
        lambda *args: replays.append(args) or original_replay(*args),
    )

    for args in reversed(held):  # the second commit's broadcast overtakes the first's
        await database_sync_to_async(original)(*args)

    got = [await b.recv(), await b.recv()]
    assert [f["payload"]["seq"] for f in got] == [1, 2]
    assert replays == []
    await b.close()


@pytest.fixture
def message_while_joining(monkeypatch):
    """A message committed (and broadcast) after the connecting socket read its cursors and before it
    joined its chats' groups: the window a socket must not lose a message in."""
    import realtime.selectors

    original = realtime.selectors.connect_state
    sent = []

    def wrapped(*args, **kwargs):
        state = original(*args, **kwargs)
        if sent:
            chat, sender = sent.pop()
            message_services.message_send(chat_id=chat.pk, sender=sender, content="in the window")
            time.sleep(0.3)  # its broadcast reaches this process (and the sockets listening) meanwhile
        return state

    monkeypatch.setattr(realtime.selectors, "connect_state", wrapped)
    return sent


async def test_a_message_committed_while_the_first_socket_of_a_chat_joins_reaches_it(message_while_joining):
    # No socket of this process listens to the chat yet: the broadcast reached nobody here. The process
    # reads the chat's tail once it listens, and the socket gets the message with no later one to
    # reveal the gap.
    alice, bob, chat = await pair()
    message_while_joining.append((chat, alice))
    b, _, _ = await open_socket(bob)

    frame = await b.recv(timeout=3)

    assert (frame["type"], frame["payload"]["seq"], frame["payload"]["content"]) == (
        "new_message",
        1,
        "in the window",
    )
    assert await b.nothing(0.3)
    await b.close()


async def test_a_message_handed_to_a_chats_sockets_while_another_joins_reaches_it_too(message_while_joining):
    alice, bob, chat = await pair()
    a, _, _ = await open_socket(alice)  # the process listens to the chat already
    await a.send({"type": "resume", "payload": {"chats": {}}})
    assert (await a.recv())["type"] == "resumed"
    message_while_joining.append((chat, alice))
    b, _, _ = await open_socket(bob)

    frame = await b.recv(timeout=3)

    assert (frame["type"], frame["payload"]["seq"]) == ("new_message", 1)
    assert await b.nothing(0.3)
    assert (await a.recv())["payload"]["seq"] == 1
    await a.close()
    await b.close()
