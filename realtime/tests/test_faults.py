"""Faults degrade, they do not hang: real Daphne processes against their own Redis and PostgreSQL.

Each test starts its own redis-server and, where the database is the fault, its own PostgreSQL
cluster, on free ports; it pauses (SIGSTOP), stops or kills only those. After every fault a client
reconnects on a new socket, sends `resume` first, and must get every stored message exactly once, in
order; the database must hold nothing half-written.
"""

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from realtime.tests.faults import (
    PrivatePostgres,
    close_code_of_handshake,
    collect_new_messages,
    private_chat,
    private_postgres,
    redis_server,
    register,
    rest_send,
    resume_on_new_socket,
    send_frame,
    seqs,
    wait_until,
)
from realtime.tests.live import daphne_server, http, receive_frame

pytestmark = pytest.mark.slow

# Generous for two loaded cores; today's code exceeds them by far (a broadcast waits ~5 s per send on a
# hung Redis, and a request waits the whole outage on a hung database).
PROMPT_SECONDS = 3.0
OUTAGE_BOUND_SECONDS = 8.0

FAST_FAULTS = {
    "THROTTLE_REGISTER": "1000/min",
    "THROTTLE_LOGIN": "1000/min",
    "WS_LAYER_CHECK_SECONDS": "0.5",
    "BROADCAST_TIMEOUT_SECONDS": "0.5",
    # Bursts of 40 frames: per-socket and per-user send limits are not what these tests are about.
    "WS_SEND_RATE_PER_SECOND": "1000",
    "THROTTLE_SEND": "100000/min",
    "LOG_LEVEL": "WARNING",
}
DB_FAULTS = {
    **FAST_FAULTS,
    "DB_QUERY_TIMEOUT_SECONDS": "2",
    "DB_POOL_TIMEOUT": "2",
    "DB_CONNECT_TIMEOUT": "2",
}


def assert_nothing_half_written(pg: PrivatePostgres) -> None:
    """Invariants in SQL: seq gap-free from 1 per chat; no membership without its chat or user."""
    gaps = pg.query(
        "SELECT chat_id, count(*), min(seq), max(seq), count(DISTINCT seq) FROM messaging_message "
        "GROUP BY chat_id HAVING min(seq) <> 1 OR max(seq) <> count(*) OR count(DISTINCT seq) <> count(*)"
    )
    assert gaps == []
    orphans = pg.query(
        "SELECT m.id FROM chats_chatmember m LEFT JOIN chats_chat c ON c.id = m.chat_id "
        "LEFT JOIN accounts_user u ON u.id = m.user_id WHERE c.id IS NULL OR u.id IS NULL"
    )
    assert orphans == []


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as cluster:
        yield cluster


# --- Redis -----------------------------------------------------------------------------------------


def test_hung_redis_rest_sends_answer_promptly_and_resume_fills_the_gap(postgres: PrivatePostgres):
    # A queue of 3: while Redis hangs, sends time out and the queue fills, so both drop paths are taken.
    env = {**FAST_FAULTS, "DATABASE_URL": postgres.url, "BROADCAST_QUEUE_SIZE": "3"}
    with redis_server() as redis, daphne_server(redis.url, env) as server:
        base = server.base
        alice, bob = register(base, "alice"), register(base, "bob")
        chat_id = private_chat(base, alice, bob)

        async def scenario() -> None:
            live_ws, _ = await resume_on_new_socket(base, bob.token, {chat_id: 0})
            for n in range(2):
                assert rest_send(base, alice.token, chat_id, f"before {n}")[0] == 200
            assert seqs(await collect_new_messages(live_ws, chat_id, expect_seq=2)) == [1, 2]

            redis.pause()
            try:
                with ThreadPoolExecutor(4) as pool:
                    answers = list(
                        pool.map(lambda n: rest_send(base, alice.token, chat_id, f"hung {n}"), range(8))
                    )
                assert [status for status, _, _ in answers] == [200] * 8
                assert max(took for _, _, took in answers) < PROMPT_SECONDS
                # Throttled endpoints read their counters from Redis: bounded by the cache's socket
                # timeouts, and an outage (503), never a hang or a 500.
                started = time.monotonic()
                status, body = http("POST", f"{base}/api/login", {"email": "x@example.com", "password": "x"})
                took = time.monotonic() - started
                assert (status, body["code"]) == (503, "service_unavailable")
                assert took < OUTAGE_BOUND_SECONDS
                # A chat's detail reads presence from Redis: bounded too, and shown offline rather than failing.
                started = time.monotonic()
                status, body = http("GET", f"{base}/api/chats/{chat_id}", token=alice.token)
                assert status == 200, body
                assert time.monotonic() - started < OUTAGE_BOUND_SECONDS
                # The watchdog notices the silent Redis and closes the socket: the client must reconnect.
                assert await close_code_of_socket(live_ws) == 1013
                # A handshake meanwhile is accepted and closed with 1013, not refused or left hanging.
                assert await close_code_of_handshake(base, bob.token) == 1013
            finally:
                redis.resume()

            ws, replayed = await resume_on_new_socket(base, bob.token, {chat_id: 2})
            assert seqs(replayed[chat_id]) == list(range(3, 11))
            # Live delivery works again once Redis answers.
            assert rest_send(base, alice.token, chat_id, "after")[0] == 200
            assert seqs(await collect_new_messages(ws, chat_id, expect_seq=11)) == [11]
            await ws.close()

        asyncio.run(scenario())
    assert_nothing_half_written(postgres)


async def close_code_of_socket(ws: ClientConnection, timeout: float = 20) -> int | None:
    """Read until the server closes the socket; its close code (None without a close frame)."""
    return (await drain_until_closed(ws, 0, timeout))[0]


async def drain_until_closed(
    ws: ClientConnection, chat_id: int, timeout: float = 20
) -> tuple[int | None, list[dict]]:
    """Read until the socket ends: (close code or None without a close frame, `new_message`s of chat_id)."""
    got: list[dict] = []
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if frame["type"] == "new_message" and frame["payload"]["chat_id"] == chat_id:
                got.append(frame["payload"])
    except ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), got


async def burst(ws: ClientConnection, chat_id: int, count: int, label: str) -> None:
    """Send `count` messages without waiting for answers; stop quietly when the socket is closed."""
    with contextlib.suppress(ConnectionClosed):
        for n in range(count):
            await send_frame(ws, chat_id, f"{label} {n}")


def stored(pg: PrivatePostgres, chat_id: int, after_seq: int = 0) -> list[tuple[int, str]]:
    """(seq, content) of the chat's stored messages after `after_seq`, in order: what resume must return."""
    rows = pg.query(
        "SELECT seq, content FROM messaging_message WHERE chat_id = %s AND seq > %s ORDER BY seq",
        (chat_id, after_seq),
    )
    return [(int(seq), str(content)) for seq, content in rows]


def as_rows(messages: list[dict]) -> list[tuple[int, str]]:
    return [(m["seq"], m["content"]) for m in messages]


def test_redis_killed_and_restarted_mid_conversation_resume_delivers_everything_once(
    postgres: PrivatePostgres,
):
    with (
        redis_server() as redis,
        daphne_server(redis.url, {**FAST_FAULTS, "DATABASE_URL": postgres.url}) as server,
    ):
        base = server.base
        alice, bob = register(base, "alice"), register(base, "bob")
        chat_id = private_chat(base, alice, bob)

        async def scenario() -> None:
            alice_ws, _ = await resume_on_new_socket(base, alice.token, {chat_id: 0})
            bob_ws, _ = await resume_on_new_socket(base, bob.token, {chat_id: 0})
            # Kill Redis while alice's burst is still being stored and broadcast.
            sending = asyncio.create_task(burst(alice_ws, chat_id, 40, "burst"))
            before_kill = await collect_new_messages(bob_ws, chat_id, expect_seq=3)
            redis.kill()
            code, until_closed = await drain_until_closed(bob_ws, chat_id)
            assert code == 1013
            assert (await drain_until_closed(alice_ws, chat_id))[0] == 1013
            await sending
            bob_seen = seqs(before_kill + until_closed)
            assert bob_seen == list(range(1, len(bob_seen) + 1))  # in order, each once, no gap

            # With Redis down, REST still stores messages; the handshake gets 1013, not an HTTP 403.
            for n in range(3):
                status, body, took = rest_send(base, alice.token, chat_id, f"while down {n}")
                assert status == 200, body
                assert took < PROMPT_SECONDS
            assert await close_code_of_handshake(base, bob.token) == 1013

            redis.start()
            bob_ws, replayed = await resume_on_new_socket(base, bob.token, {chat_id: bob_seen[-1]})
            assert as_rows(replayed[chat_id]) == stored(postgres, chat_id, after_seq=bob_seen[-1])
            last = replayed[chat_id][-1]["seq"]
            alice_ws, _ = await resume_on_new_socket(base, alice.token, {chat_id: last})
            await send_frame(alice_ws, chat_id, "after restart")
            assert seqs(await collect_new_messages(bob_ws, chat_id, expect_seq=last + 1)) == [last + 1]
            await alice_ws.close()
            await bob_ws.close()

        asyncio.run(scenario())
    assert_nothing_half_written(postgres)


def test_one_of_two_daphne_processes_killed_clients_resume_on_the_survivor(postgres: PrivatePostgres):
    env = {**FAST_FAULTS, "DATABASE_URL": postgres.url}
    with (
        redis_server() as redis,
        daphne_server(redis.url, env) as doomed,
        daphne_server(redis.url, env) as survivor,
    ):
        alice, bob = register(survivor.base, "alice"), register(survivor.base, "bob")
        chat_id = private_chat(survivor.base, alice, bob)

        async def scenario() -> None:
            # Both on the process that dies, bob also watched from the survivor by a second socket.
            alice_ws, _ = await resume_on_new_socket(doomed.base, alice.token, {chat_id: 0})
            bob_ws, _ = await resume_on_new_socket(doomed.base, bob.token, {chat_id: 0})
            bob_elsewhere, _ = await resume_on_new_socket(survivor.base, bob.token, {chat_id: 0})
            sending = asyncio.create_task(burst(alice_ws, chat_id, 40, "burst"))
            before_kill = await collect_new_messages(bob_ws, chat_id, expect_seq=3)
            os.kill(doomed.process.pid, signal.SIGKILL)
            doomed.process.wait()
            code, until_closed = await drain_until_closed(bob_ws, chat_id)
            assert code is None  # no close frame: the process is gone
            await sending
            bob_seen = seqs(before_kill + until_closed)
            assert bob_seen == list(range(1, len(bob_seen) + 1))

            # alice goes on from the survivor; bob reconnects there and resumes from his last seq.
            alice_ws, _ = await resume_on_new_socket(survivor.base, alice.token, {})
            for n in range(4):
                await send_frame(alice_ws, chat_id, f"meanwhile {n}")
            seen_elsewhere = await collect_new_messages(bob_elsewhere, chat_id, content="meanwhile 3")
            last = seen_elsewhere[-1]["seq"]
            bob_ws, replayed = await resume_on_new_socket(survivor.base, bob.token, {chat_id: bob_seen[-1]})
            assert as_rows(replayed[chat_id]) == stored(postgres, chat_id, after_seq=bob_seen[-1])
            assert replayed[chat_id][-1]["seq"] == last
            await send_frame(alice_ws, chat_id, "after")
            assert seqs(await collect_new_messages(bob_ws, chat_id, expect_seq=last + 1)) == [last + 1]
            for ws in (alice_ws, bob_ws, bob_elsewhere):
                await ws.close()

        asyncio.run(scenario())
    assert_nothing_half_written(postgres)


# --- PostgreSQL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["paused", "stopped"])
def test_database_outage_answers_503_in_bounded_time_and_recovers_without_restart(
    postgres: PrivatePostgres, fault: str
):
    with (
        redis_server() as redis,
        daphne_server(redis.url, {**DB_FAULTS, "DATABASE_URL": postgres.url}) as server,
    ):
        base = server.base
        alice, bob = register(base, "alice"), register(base, "bob")
        chat_id = private_chat(base, alice, bob)

        async def scenario() -> None:
            bob_ws, _ = await resume_on_new_socket(base, bob.token, {chat_id: 0})
            for n in range(3):
                assert rest_send(base, alice.token, chat_id, f"before {n}")[0] == 200
            assert seqs(await collect_new_messages(bob_ws, chat_id, expect_seq=3)) == [1, 2, 3]
            await bob_ws.close()
            alice_ws, _ = await resume_on_new_socket(base, alice.token, {chat_id: 3})

            postgres.pause() if fault == "paused" else postgres.stop()
            try:
                # An open socket's command gets an error frame in bounded time; the socket stays open.
                started = time.monotonic()
                await send_frame(alice_ws, chat_id, "lost over the socket")
                error = await receive_frame(alice_ws, "error", timeout=OUTAGE_BOUND_SECONDS)
                assert error["payload"]["code"] == "service_unavailable"
                assert time.monotonic() - started < OUTAGE_BOUND_SECONDS
                await alice_ws.close()
                with ThreadPoolExecutor(4) as pool:
                    answers = list(
                        pool.map(lambda n: rest_send(base, alice.token, chat_id, f"lost {n}"), range(4))
                    )
                for status, body, took in answers:
                    assert status == 503
                    assert body == {"error": "service unavailable", "code": "service_unavailable"}
                    assert took < OUTAGE_BOUND_SECONDS
                started = time.monotonic()
                status, body = http("GET", f"{base}/api/chats", token=alice.token)
                assert (status, body["code"]) == (503, "service_unavailable")
                assert time.monotonic() - started < OUTAGE_BOUND_SECONDS
                # The handshake cannot check the credential: accepted, then 1013.
                assert await close_code_of_handshake(base, bob.token) == 1013
            finally:
                postgres.resume() if fault == "paused" else postgres.start()

            # The same Daphne recovers once PostgreSQL is back (polled: recovery has no event to await).
            wait_until(lambda: http("GET", f"{base}/api/chats", token=alice.token)[0] == 200, what="recovery")
            assert rest_send(base, alice.token, chat_id, "after")[0] == 200
            bob_ws, replayed = await resume_on_new_socket(base, bob.token, {chat_id: 0})
            assert [m["content"] for m in replayed[chat_id]] == ["before 0", "before 1", "before 2", "after"]
            assert seqs(replayed[chat_id]) == [1, 2, 3, 4]
            await bob_ws.close()

        asyncio.run(scenario())
    assert_nothing_half_written(postgres)


def test_handshake_with_database_unreachable_is_accepted_then_closed_1013():
    # Nothing listens on port 1: every connection attempt is refused at once.
    dead = {
        **FAST_FAULTS,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable",
        "DB_POOL_TIMEOUT": "1",
    }
    with redis_server() as redis, daphne_server(redis.url, dead) as server:
        # A valid signature, so the handshake needs the database to load the user.
        token = AccessToken()
        token["user_id"] = 1
        assert asyncio.run(close_code_of_handshake(server.base, str(token))) == 1013
