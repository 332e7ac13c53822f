"""A ban racing many WebSocket handshakes and sends: nothing of the user survives it.

Each handshake authenticates (middleware), then joins the user's group, then is accepted; a ban that
commits between the first two steps used to find no socket to close. The sends race the ban's row lock.
"""

import asyncio
import contextlib
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

import realtime.handshake.auth
from accounts import services as account_services
from accounts.errors import AccountDisabledError
from accounts.tests.factories import UserFactory
from chats.tests.factories import group_chat
from messaging import services as message_services
from messaging.models import Message
from realtime.routing import websocket_application
from realtime.tests.live import daphne, ws_url
from realtime.tests.wsclient import access_token, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async

HANDSHAKES = 80
# The requirement: one second after the ban commits, no socket of the user is open.
CLOSE_DEADLINE = 1.0


def ban(user) -> tuple[float, int]:
    """Ban `user`; (monotonic time the ban had committed, the user's messages stored by then)."""
    account_services.user_deactivate(user=user)
    committed = time.monotonic()
    return committed, Message.objects.filter(sender=user).count()


async def handshake_and_send(
    token: str, chat_id: int, index: int
) -> tuple[WebsocketCommunicator, float | None]:
    """Open a socket and, if accepted, send one message at once; (communicator, accept time or None)."""
    communicator = WebsocketCommunicator(
        websocket_application, "/api/ws", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    accepted, _ = await communicator.connect(timeout=30)
    if not accepted:
        return communicator, None
    accepted_at = time.monotonic()
    frame = {"type": "send_message", "payload": {"chat_id": chat_id, "content": f"racing {index}"}}
    await communicator.send_to(text_data=json.dumps(frame))
    return communicator, accepted_at


async def close_time(communicator: WebsocketCommunicator, timeout: float) -> tuple[float | None, int | None]:
    """(monotonic time the server closed the socket, code), or (None, None) if it was still open at `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            output = await communicator.receive_output(timeout=max(deadline - loop.time(), 0.001))
        except TimeoutError:
            return None, None
        if output["type"] == "websocket.close":
            return time.monotonic(), int(output.get("code", 1000))


@pytest.mark.asyncio
async def test_every_socket_racing_a_ban_is_closed_within_a_second_and_nothing_is_stored_after_it(
    settings, chat_overrides
):
    chat_overrides.WS_MAX_SOCKETS_PER_USER = (
        0  # 80 sockets of one user: this test is about the ban, not the cap
    )
    chat_overrides.WS_MAX_HANDSHAKES_IN_PROGRESS = 0  # 80 at once: nor about admission control
    target, other = await db(UserFactory)(), await db(UserFactory)()
    chat = await db(group_chat)(other, target)
    tokens = [await db(access_token)(target) for _ in range(HANDSHAKES)]
    handshakes = [
        asyncio.create_task(handshake_and_send(token, chat.pk, i)) for i, token in enumerate(tokens)
    ]
    # Ban while handshakes are at every stage: some open and sending, most still in flight.
    for _, finished in zip(range(HANDSHAKES // 8), asyncio.as_completed(handshakes), strict=False):
        await finished
    committed, stored_at_ban = await db(ban)(target)

    opened = await asyncio.gather(*handshakes)
    watchers = [
        close_time(communicator, max(committed, accepted_at) + CLOSE_DEADLINE - time.monotonic())
        for communicator, accepted_at in opened
        if accepted_at is not None
    ]
    closes = await asyncio.gather(*watchers)
    # Let any send still in flight finish (or be refused) before counting what was stored.
    await asyncio.sleep(0.5)
    stored_after = await db(lambda: Message.objects.filter(sender=target).count())()
    for communicator, _ in opened:
        await communicator.disconnect()

    assert len(closes) > 0
    still_open = [code for when, code in closes if when is None]
    assert still_open == [], f"{len(still_open)} of {len(closes)} sockets still open 1 s after the ban"
    assert {code for _, code in closes} <= {4401, 4403}
    assert stored_after == stored_at_ban


@pytest.mark.asyncio
async def test_handshake_authenticated_before_a_ban_that_joins_its_group_after_it_is_closed_4403(monkeypatch):
    """The race, made deterministic: the ban commits (and its broadcast leaves) between the middleware's
    authentication and the consumer joining the user's group."""
    target = await db(UserFactory)()
    authenticated, banned = asyncio.Event(), asyncio.Event()
    real_authenticate = realtime.handshake.auth.authenticate

    async def authenticate_then_wait_for_the_ban(scope):
        result = await real_authenticate(scope)
        authenticated.set()
        await banned.wait()
        return result

    monkeypatch.setattr(realtime.handshake.auth, "authenticate", authenticate_then_wait_for_the_ban)
    connecting = asyncio.create_task(open_socket(target))
    await authenticated.wait()
    await db(account_services.user_deactivate)(user=target)
    banned.set()
    socket, accepted, _ = await connecting

    code = await socket.recv_close(timeout=CLOSE_DEADLINE)
    await socket.close()

    assert accepted
    assert code == 4403


@pytest.mark.asyncio
async def test_message_send_with_the_user_a_socket_holds_is_refused_after_the_ban():
    target, other = await db(UserFactory)(), await db(UserFactory)()
    chat = await db(group_chat)(other, target)
    communicator, accepted_at = await handshake_and_send(await db(access_token)(target), chat.pk, 0)
    assert accepted_at is not None
    await db(ban)(target)

    # The service itself refuses the stale User a socket holds, whatever the socket is doing.
    with pytest.raises(AccountDisabledError):
        await db(message_services.message_send)(chat_id=chat.pk, sender=target, content="after the ban")
    await communicator.disconnect()

    assert not await db(Message.objects.filter(sender=target, content="after the ban").exists)()


# --- the same race against a real Daphne process -----------------------------------------------------


def test_every_daphne_socket_racing_a_ban_is_closed_within_a_second_and_nothing_is_stored_after_it():
    target, other = UserFactory(), UserFactory()
    chat = group_chat(other, target)
    tokens = [access_token(target) for _ in range(HANDSHAKES)]

    def ban_in_thread() -> tuple[float, int]:
        try:
            return ban(target)
        finally:
            connections.close_all()

    async def open_and_send(url: str, token: str, index: int) -> tuple[ClientConnection, float] | None:
        try:
            ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=30)
        except (InvalidStatus, OSError, TimeoutError):
            return None  # refused before accepting: never open
        opened_at = time.monotonic()
        frame = {"type": "send_message", "payload": {"chat_id": chat.pk, "content": f"racing {index}"}}
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(frame))
        return ws, opened_at

    async def closed_by(ws: ClientConnection, deadline: float) -> int | None:
        """The close code the server sent by `deadline` (monotonic), or None if still open then."""
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.001)):
                async for _ in ws:
                    pass
        except TimeoutError:
            return None
        except ConnectionClosed:
            pass
        return ws.close_code

    async def scenario(base: str) -> tuple[list[int | None], int]:
        url = ws_url(base)
        pending = [asyncio.create_task(open_and_send(url, t, i)) for i, t in enumerate(tokens)]
        for _, finished in zip(range(HANDSHAKES // 8), asyncio.as_completed(pending), strict=False):
            await finished
        committed, stored_at_ban = await asyncio.to_thread(ban_in_thread)
        opened = [result for result in await asyncio.gather(*pending) if result is not None]
        codes = await asyncio.gather(
            *(closed_by(ws, max(committed, opened_at) + CLOSE_DEADLINE) for ws, opened_at in opened)
        )
        for ws, _ in opened:
            await ws.close()
        return list(codes), stored_at_ban

    with daphne(settings.REDIS_URL, env={"WS_MAX_SOCKETS_PER_USER": "0"}) as base:
        codes, stored_at_ban = asyncio.run(scenario(base))
        time.sleep(0.5)  # sends still in flight finish (or are refused) before counting

    assert codes
    still_open = [code for code in codes if code is None]
    assert still_open == [], f"{len(still_open)} of {len(codes)} sockets still open 1 s after the ban"
    assert Message.objects.filter(sender=target).count() == stored_at_ban
