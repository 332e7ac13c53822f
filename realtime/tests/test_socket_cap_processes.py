"""WS_MAX_SOCKETS_PER_USER across real Daphne processes sharing one (private) Redis."""

import asyncio
import time

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from accounts.tests.factories import UserFactory
from realtime.tests.live import daphne_server, private_redis, ws_url
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

TTL, HEARTBEAT = 2.0, 0.5
CAP_3 = {
    "WS_MAX_SOCKETS_PER_USER": "3",
    "PRESENCE_TTL_SECONDS": str(TTL),
    "PRESENCE_HEARTBEAT_SECONDS": str(HEARTBEAT),
}


async def open_ws(base: str, token: str) -> ClientConnection:
    return await connect(ws_url(base), additional_headers={"Authorization": f"Bearer {token}"})


async def close_code(ws: ClientConnection, timeout: float = 5) -> int | None:
    """The server's close code, or None if the socket is still open after `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


async def still_open(ws: ClientConnection) -> bool:
    """True when the socket still answers a ping."""
    try:
        await asyncio.wait_for(await ws.ping(), 3)
        return True
    except (ConnectionClosed, TimeoutError):
        return False


def test_cap_holds_across_two_processes_and_a_closed_socket_frees_its_slot():
    token = access_token(UserFactory())
    other_token = access_token(UserFactory())

    with (
        private_redis() as (redis_url, _),
        daphne_server(redis_url, CAP_3) as a,
        daphne_server(redis_url, CAP_3) as b,
    ):

        async def scenario() -> dict:
            first = [await open_ws(a.base, token), await open_ws(b.base, token), await open_ws(a.base, token)]
            fourth = await open_ws(b.base, token)
            fourth_code = await close_code(fourth)
            others_socket = await open_ws(b.base, other_token)  # another user's cap is their own
            open_before = [await still_open(ws) for ws in first]
            await first[1].close()
            replacement = await open_ws(a.base, token)
            replacement_open = await still_open(replacement)
            fifth = await open_ws(b.base, token)
            fifth_code = await close_code(fifth)
            result = {
                "fourth": fourth_code,
                "others": await still_open(others_socket),
                "open_before": open_before,
                "replacement": replacement_open,
                "fifth": fifth_code,
            }
            for ws in [first[0], first[2], replacement, others_socket]:
                await ws.close()
            return result

        result = asyncio.run(scenario())

    assert result["fourth"] == 4429
    assert result["others"] is True
    assert result["open_before"] == [True, True, True]
    assert result["replacement"] is True
    assert result["fifth"] == 4429


def test_concurrent_handshakes_on_two_processes_never_pass_the_cap():
    token = access_token(UserFactory())

    with (
        private_redis() as (redis_url, _),
        daphne_server(redis_url, CAP_3) as a,
        daphne_server(redis_url, CAP_3) as b,
    ):

        async def scenario() -> list[int | None]:
            sockets = await asyncio.gather(*(open_ws((a, b)[i % 2].base, token) for i in range(12)))
            codes = await asyncio.gather(*(close_code(ws, timeout=5) for ws in sockets))
            for ws in sockets:
                await ws.close()
            return list(codes)

        codes = asyncio.run(scenario())

    assert codes.count(None) == 3  # still open
    assert codes.count(4429) == 9


def test_slots_of_a_killed_process_expire_and_free_the_cap():
    token = access_token(UserFactory())

    with (
        private_redis() as (redis_url, _),
        daphne_server(redis_url, CAP_3) as doomed,
        daphne_server(redis_url, CAP_3) as survivor,
    ):

        async def scenario() -> tuple[int | None, bool, float]:
            held = [await open_ws(doomed.base, token) for _ in range(3)]
            refused = await close_code(await open_ws(survivor.base, token))
            doomed.process.kill()  # no goodbye: its sockets never give their slots back
            doomed.process.wait()
            killed_at = time.monotonic()
            while True:
                ws = await open_ws(survivor.base, token)
                if await close_code(ws, timeout=1.0) is None:  # a refused one closes at once
                    took = time.monotonic() - killed_at
                    ok = await still_open(ws)
                    await ws.close()
                    break
                assert time.monotonic() - killed_at < TTL + 10, "the dead process's slots never expired"
                await asyncio.sleep(0.2)
            for old in held:
                await old.close()
            return refused, ok, took

        refused, ok, took = asyncio.run(scenario())

    assert refused == 4429
    assert ok is True
    print(f"slot freed {took:.2f} s after SIGKILL (TTL {TTL} s)")
