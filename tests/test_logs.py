"""LOG_FORMAT=json and request ids: one JSON line per record, an access record per request, socket lifecycles."""

import asyncio
import http.client
import io
import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.tests.factories import UserFactory
from chatproject.logs import RequestIdFilter, json_formatter
from realtime.tests.live import free_port
from realtime.tests.wsclient import access_token, open_socket
from tests.test_serve import ROOT, _healthy, serve_env

GENERATED = re.compile(r"[0-9a-f]{32}")


# --- Request ids (in process) -------------------------------------------------------------------


def test_every_response_carries_a_new_request_id_errors_included(client: Client) -> None:
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_a_safe_request_id_from_the_client_is_kept(client: Client) -> None:
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID="edge-7f3a.01_B")

    assert response["X-Request-ID"] == "edge-7f3a.01_B"


@pytest.mark.parametrize("offered", ["has space", "x" * 129, "<script>", 'quote"d', "caf\u00e9", ""])
def test_an_unsafe_request_id_is_replaced_by_a_new_one(client: Client, offered: str) -> None:
    response = client.get("/no-such-page", HTTP_X_REQUEST_ID=offered)

    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_the_access_record_names_the_user_the_api_authenticated(
    auth_client: Any, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chat.access")

    response = auth_client.get("/api/chats", HTTP_X_REQUEST_ID="req-42")

    (record,) = [r for r in caplog.records if r.name == "chat.access"]
    assert response.status_code == 200
    assert (record.request_id, record.user_id, record.method, record.path, record.status) == (  # type: ignore[attr-defined]
        "req-42",
        user.pk,
        "GET",
        "/api/chats",
        200,
    )
    assert record.duration_ms >= 0  # type: ignore[attr-defined]


@pytest.mark.urls("tests.error_urls")
def test_an_error_is_one_json_line_with_its_traceback_and_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = Client(raise_request_exception=False).get("/test/django-boom", HTTP_X_REQUEST_ID="boom-1")
    finally:
        logger.removeHandler(handler)

    lines = stream.getvalue().splitlines()
    assert response.status_code == 500
    assert response["X-Request-ID"] == "boom-1"
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert (record["level"], record["logger"], record["request_id"]) == ("ERROR", "django.request", "boom-1")
    assert record["exc_info"].startswith("Traceback (most recent call last):")
    assert "RuntimeError" in record["exc_info"]


# --- A real Daphne with LOG_FORMAT=json --------------------------------------------------------------


@contextmanager
def serving_json(log: Path) -> Iterator[int]:
    """`python -m chatproject.serve` (one worker) with LOG_FORMAT=json, all of its output in `log`."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatproject.serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=serve_env(LOG_FORMAT="json", WORKERS="1", PYTHONUNBUFFERED="1"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(f"http://127.0.0.1:{port}"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def get(port: int, path: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST" if body else "GET", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.headers["X-Request-ID"]
    finally:
        conn.close()


async def sockets(url: str, token: str) -> int:
    """Open and close (1000) an authenticated socket, then open one without credentials; its close code."""
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await asyncio.sleep(0.2)
    async with connect(url) as ws:
        with suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code is not None
        return ws.close_code


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_json_logs_from_daphne_are_one_object_per_line_with_request_and_socket_records(
    tmp_path: Path,
) -> None:
    alice = UserFactory()
    token = access_token(alice)
    log = tmp_path / "serve.log"
    with serving_json(log) as port:
        probe = get(port, "/healthz", {"X-Request-ID": "probe-1"})
        api = get(port, "/api/chats", {"Authorization": f"Bearer {token}", "X-Request-ID": "bad id!"})
        missing = get(port, "/no-such-page", {})
        # Refused by Daphne itself (chatproject.server), before the app: logged all the same.
        too_big = get(
            port,
            "/api/register",
            {"X-Request-ID": "big-1"},
            b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        )
        refused_code = asyncio.run(sockets(f"ws://127.0.0.1:{port}/api/ws", token))
        time.sleep(0.3)

    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = {r["request_id"]: r for r in records if r.get("event") == "request"}
    opened = [r for r in records if r.get("event") == "websocket_open"]
    closed = [r for r in records if r.get("event") == "websocket_close"]

    assert probe == (200, "probe-1")
    assert access["probe-1"]["path"] == "/healthz"
    assert (access["probe-1"]["method"], access["probe-1"]["status"], access["probe-1"]["user_id"]) == (
        "GET",
        200,
        None,
    )
    assert access["probe-1"]["duration_ms"] >= 0
    assert api[0] == 200
    assert GENERATED.fullmatch(api[1])
    assert (access[api[1]]["path"], access[api[1]]["user_id"]) == ("/api/chats", alice.pk)
    assert (missing[0], access[missing[1]]["status"]) == (404, 404)
    assert too_big == (413, "big-1")
    assert (access["big-1"]["method"], access["big-1"]["path"], access["big-1"]["status"]) == (
        "POST",
        "/api/register",
        413,
    )
    assert [(r["user_id"], r["path"]) for r in opened] == [(alice.pk, "/api/ws")]
    assert GENERATED.fullmatch(opened[0]["request_id"])
    assert refused_code == 4401
    assert sorted((r["code"], r["user_id"]) for r in closed) == [(1000, alice.pk), (4401, None)]
    assert all(r["reason"] and r["duration_ms"] >= 0 for r in closed)
    assert next(r for r in closed if r["code"] == 1000)["request_id"] == opened[0]["request_id"]
    # Daphne's own access log is off: the app's records are the only ones naming the requests.
    assert all(r["level"] and r["time"] for r in records)


@pytest.mark.django_db(transaction=True)
async def test_a_sockets_records_carry_its_handshakes_request_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="chat.socket")
    user = await database_sync_to_async(UserFactory)()

    ws, accepted, _ = await open_socket(user, headers=[(b"x-request-id", b"ws-7")])
    await ws.close()
    await asyncio.sleep(0.1)

    records = [(r.event, r.request_id, r.user_id) for r in caplog.records if r.name == "chat.socket"]  # type: ignore[attr-defined]
    assert accepted
    assert records == [("websocket_open", "ws-7", user.pk), ("websocket_close", "ws-7", user.pk)]
