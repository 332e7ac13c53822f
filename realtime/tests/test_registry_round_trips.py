"""What a socket's connect and close cost in Redis round trips, counted by a private redis-server.

One registry (realtime.registry) decides the per-user cap and presence in one script per open and
one per close. The count is for a reconnect, the common case under a storm: the process already
listens to the user's and the chat's groups through another socket of the same user.
"""

import asyncio
import json
import threading

import pytest
import redis
from websockets.asyncio.client import connect

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from realtime.tests.live import daphne, private_redis, ws_url
from realtime.tests.wsclient import access_token

# The first frame; its answer (`resumed`) says the connect has finished.
RESUME = json.dumps({"type": "resume", "payload": {"chats": {}}})

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Monitor:
    """The commands clients send to Redis (not those a script runs), read with MONITOR in a thread."""

    STOP = "end-of-count"

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.seen: list[str] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()
        assert self._ready.wait(5)

    def _read(self, url: str) -> None:
        with redis.Redis.from_url(url).monitor() as monitor:
            self._ready.set()
            for event in monitor.listen():
                command = event["command"]
                if command == f"ECHO {self.STOP}":
                    return
                # Not a script's inner commands, nor the connection set-up of this monitor's own clients.
                if event.get("client_type") != "lua" and command.split()[0].upper() not in ("HELLO", "ECHO"):
                    self.seen.append(command.split()[0].upper())

    def stop(self) -> list[str]:
        self.client.echo(self.STOP)
        self._thread.join(5)
        return self.seen


def test_a_reconnect_costs_one_registry_script_to_open_and_one_to_close():
    alice, bob = UserFactory(), UserFactory()
    chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    headers = {"Authorization": f"Bearer {access_token(alice)}"}
    # No heartbeat during the count; no sweep either.
    env = {"PRESENCE_HEARTBEAT_SECONDS": "3600", "PRESENCE_TTL_SECONDS": "7200"}

    with private_redis() as (redis_url, _), daphne(redis_url, env) as base:

        async def scenario() -> tuple[list[str], list[str]]:
            async with connect(ws_url(base), additional_headers=headers) as first:
                await first.send(RESUME)
                await asyncio.wait_for(first.recv(), 5)
                # One reconnect before counting: each script is loaded into Redis on its first use.
                async with connect(ws_url(base), additional_headers=headers) as warm_up:
                    await warm_up.send(RESUME)
                    await asyncio.wait_for(warm_up.recv(), 5)
                await asyncio.sleep(0.5)
                monitor = Monitor(redis_url)
                async with connect(ws_url(base), additional_headers=headers) as second:
                    await second.send(RESUME)
                    await asyncio.wait_for(second.recv(), 5)  # open, and its connect has finished
                    opening = list(monitor.stop())
                    monitor = Monitor(redis_url)
                await asyncio.sleep(0.5)  # its close has run
                closing = monitor.stop()
            return opening, closing

        opening, closing = asyncio.run(scenario())

    # Besides the registry's script: the socket's own pub/sub channel, and the user's cached account.
    assert sorted(opening) == ["EVALSHA", "MGET", "SUBSCRIBE"], opening
    assert sorted(closing) == ["EVALSHA", "UNSUBSCRIBE"], closing
