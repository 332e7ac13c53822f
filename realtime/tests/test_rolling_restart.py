"""A rolling restart loses nothing (issue 19): `make run WORKERS=2`, sockets on both processes, senders
sending; SIGTERM to one Daphne. Its sockets are closed with 1012, reconnect through the same port to
the other process (or its replacement) and resume; every socket then holds every seq of its chat once
and in order, and every send is answered with the message stored once.

The clients are bench/restart.py's, the ones `make bench` measures with 2,000 sockets.
"""

import asyncio
import os
import signal

import pytest
from django.db.models import Max

from bench.restart import Sender, Socket, rolling_restart
from messaging.models import Message
from realtime.tests.test_load_processes import room
from tests.test_serve import children_of, serving

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHATS, MEMBERS, SOCKETS_PER_USER = 4, 10, 5


def test_sigterm_to_one_of_two_processes_under_load_loses_and_repeats_nothing():
    rooms = [room(MEMBERS) for _ in range(CHATS)]
    sockets = [
        Socket(token, chat_id, 0)
        for chat_id, tokens in rooms
        for token in tokens
        for _ in range(SOCKETS_PER_USER)
    ]
    senders = [Sender(tokens[0], chat_id) for chat_id, tokens in rooms]

    with serving(2, SHUTDOWN_GRACE_SECONDS="5", THROTTLE_SEND="100000/min") as (process, port):
        stopped: list[int] = []

        def stop_one() -> None:
            stopped.append(children_of(process.pid)[0])
            os.kill(stopped[0], signal.SIGTERM)

        result = asyncio.run(
            rolling_restart(
                url=f"ws://127.0.0.1:{port}/api/ws", base=f"http://127.0.0.1:{port}", sockets=sockets,
                senders=senders, rate=8, duration=6, stop_at=2, stop_one=stop_one, connect_at_once=50,
            )
        )  # fmt: skip
        assert stopped[0] not in children_of(process.pid)  # it did exit (and was replaced)

    # The stopped process held part of the sockets; each of them came back.
    assert 0 < result["sockets_restarted"] < len(sockets), result
    assert result["restarted_back"] == result["sockets_restarted"], result
    assert result["close_codes"].get("1006", 0) == 0, result  # closed with a code, never dropped
    # The stopping process handed its sockets over before closing them: no reconnect found its user's
    # slots still taken by the sockets it replaces.
    assert result["close_codes"].get("4429", 0) == 0, result
    # Nothing lost, nothing twice, and each chat's newest seq is the one its sender was answered with.
    assert result["lost"] == 0, result
    assert result["duplicates"] == 0, result
    stored = dict(
        Message.objects.filter(chat_id__in=[c for c, _ in rooms])
        .values_list("chat_id")
        .annotate(Max("seq"))
        .values_list("chat_id", "seq__max")
    )
    assert stored == {x.chat_id: x.newest for x in senders}
    assert sum(stored.values()) == result["sends"]  # every send stored once, retries included
    assert all(s.last == stored[s.chat_id] for s in sockets)
