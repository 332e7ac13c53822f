"""Graceful restarts: SIGTERM to one of two Daphne processes, with clients on it and messages in flight.

The terminated process closes every socket with 1012 (not a dropped connection, 1006), exits within
SHUTDOWN_GRACE_SECONDS, and its clients reconnect to the other process and `resume`: every message
sent over REST meanwhile reaches every client exactly once, in order.
A request already inside the app when SIGTERM arrives is answered; new connections are refused.
"""

import asyncio
import os
import signal
import threading
import time

import pytest

from realtime.tests.faults import (
    PrivatePostgres,
    collect_new_messages,
    private_chat,
    private_postgres,
    redis_server,
    register,
    rest_send,
    resume_on_new_socket,
    seqs,
)
from realtime.tests.live import daphne_server, http
from realtime.tests.test_faults import (
    FAST_FAULTS,
    as_rows,
    assert_nothing_half_written,
    drain_until_closed,
    stored,
)

pytestmark = pytest.mark.slow

GRACE_SECONDS = 5.0
SENT_DURING_RESTART = 20


@pytest.fixture
def postgres():
    with private_postgres() as cluster:
        yield cluster


def test_sigterm_closes_sockets_1012_and_clients_resume_on_the_other_process_exactly_once(
    postgres: PrivatePostgres,
):
    env = {**FAST_FAULTS, "DATABASE_URL": postgres.url, "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS)}
    with (
        redis_server() as redis,
        daphne_server(redis.url, env) as restarting,
        daphne_server(redis.url, env) as other,
    ):
        alice, bob = register(other.base, "alice"), register(other.base, "bob")
        chat_id = private_chat(other.base, alice, bob)
        tokens = {"alice": alice.token, "bob": bob.token}

        async def scenario() -> None:
            sockets = {
                name: (await resume_on_new_socket(restarting.base, token, {chat_id: 0}))[0]
                for name, token in tokens.items()
            }
            for n in range(3):
                assert rest_send(other.base, alice.token, chat_id, f"before {n}")[0] == 200
            seen = {
                name: await collect_new_messages(ws, chat_id, expect_seq=3) for name, ws in sockets.items()
            }

            # REST sends to the other process keep going while the first one restarts.
            answers: list[int] = []

            def keep_sending() -> None:
                for n in range(SENT_DURING_RESTART):
                    answers.append(rest_send(other.base, bob.token, chat_id, f"during {n}")[0])
                    time.sleep(0.05)

            sender = threading.Thread(target=keep_sending)
            sender.start()
            try:
                await asyncio.sleep(0.2)  # a few are sent before the signal, the rest after
                started = time.monotonic()
                os.kill(restarting.process.pid, signal.SIGTERM)
                for name, ws in sockets.items():
                    code, until_closed = await drain_until_closed(ws, chat_id)
                    assert code == 1012, f"{name}'s socket closed with {code}"
                    seen[name] += until_closed
                await asyncio.to_thread(restarting.process.wait, GRACE_SECONDS + 5)
                assert time.monotonic() - started < GRACE_SECONDS
                # Nothing in flight, no socket left: it did not wait out the grace.
                assert time.monotonic() - started < GRACE_SECONDS - 1

                for name, token in tokens.items():
                    last = seen[name][-1]["seq"]
                    assert seqs(seen[name]) == list(range(1, last + 1)), name
                    sockets[name], replayed = await resume_on_new_socket(other.base, token, {chat_id: last})
                    # Sends go on meanwhile: what was stored when resume ran is replayed, the rest arrives live.
                    rows = as_rows(replayed[chat_id])
                    assert rows == stored(postgres, chat_id, after_seq=last)[: len(rows)]
                    seen[name] += replayed[chat_id]
            finally:
                await asyncio.to_thread(sender.join)
            assert answers == [200] * SENT_DURING_RESTART
            total = 3 + SENT_DURING_RESTART
            for name, ws in sockets.items():
                if seen[name][-1]["seq"] < total:
                    seen[name] += await collect_new_messages(ws, chat_id, expect_seq=total)
                assert seqs(seen[name]) == list(range(1, total + 1)), name  # each once, in order
                assert as_rows(seen[name]) == stored(postgres, chat_id)
                await ws.close()

        asyncio.run(scenario())
    assert_nothing_half_written(postgres)


def test_a_request_in_flight_at_sigterm_is_answered_and_new_connections_are_refused(
    postgres: PrivatePostgres,
):
    env = {**FAST_FAULTS, "DATABASE_URL": postgres.url, "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS)}
    with redis_server() as redis, daphne_server(redis.url, env) as server:
        alice, bob = register(server.base, "alice"), register(server.base, "bob")
        chat_id = private_chat(server.base, alice, bob)
        answer: list[tuple[int, dict, float]] = []
        # A paused database holds the request inside the app while the signal arrives.
        postgres.pause()
        try:
            request = threading.Thread(
                target=lambda: answer.append(rest_send(server.base, alice.token, chat_id, "in flight"))
            )
            request.start()
            time.sleep(0.5)
            started = time.monotonic()
            os.kill(server.process.pid, signal.SIGTERM)
            time.sleep(0.5)
            assert server.process.poll() is None, "exited with a request in flight"
            # No longer listening: a new connection goes elsewhere (here: nowhere).
            with pytest.raises(OSError, match="Connection refused"):
                http("GET", f"{server.base}/healthz")
        finally:
            postgres.resume()
        request.join(timeout=GRACE_SECONDS)
        assert len(answer) == 1, "the request was cut"
        assert answer[0][0] == 200, answer
        server.process.wait(timeout=GRACE_SECONDS)
        assert time.monotonic() - started < GRACE_SECONDS
    assert stored(postgres, chat_id) == [(1, "in flight")]
