"""/metrics: who may read it, and each of our metrics moving when its event happens (in this process).

Several Daphne processes behind one scrape: tests/test_metrics_processes.py.
"""

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from accounts.tests.factories import UserFactory
from chats import services as chat_services
from messaging import services as message_services
from realtime import broadcast
from realtime.socket import watchdog
from realtime.tests.live import free_port
from realtime.tests.wsclient import open_socket

in_db = database_sync_to_async


def sample(name: str, **labels: str) -> float:
    """The current value of one sample of this process's registry (0 before its first change)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Moves:
    """The samples named at creation, read again by `delta()` as the change since then."""

    def __init__(self, *samples: tuple[str, dict[str, str]]):
        self.samples = samples
        self.before = [sample(name, **labels) for name, labels in samples]

    def delta(self) -> list[float]:
        return [
            sample(name, **labels) - was
            for (name, labels), was in zip(self.samples, self.before, strict=True)
        ]


def scraped(body: bytes) -> dict[str, float]:
    """A scrape's samples as {name{labels}: value}."""
    values = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            values[f"{s.name}{{{labels}}}"] = s.value
    return values


# --- Who may read /metrics ------------------------------------------------------------------------


def test_metrics_answer_loopback_with_ours_and_django_prometheus(client: Client, db: None) -> None:
    client.get("/healthz")

    response = client.get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    names = scraped(response.content)
    assert "chat_websocket_open{}" in names
    assert "chat_websocket_frames_received_total{type=send_message}" in names
    assert any(name.startswith("django_http_requests_total_by_method_total") for name in names)
    assert any(name.startswith("django_db_execute_total") for name in names)


def test_metrics_are_a_json_404_from_an_address_outside_the_allowed_networks(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 404
    assert response.json() == {"error": "not found", "code": "not_found"}


def test_metrics_answer_an_address_inside_a_configured_network(client: Client, settings: Any) -> None:
    settings.METRICS_ALLOWED_CIDRS = ["10.0.0.0/8", "2001:db8::/32"]

    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="2001:db8::5").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_metrics_answer_the_token_from_anywhere(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    response = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
    )

    assert response.status_code == 200


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Bearer ", "Basic s3cret-scrape-token", ""])
def test_metrics_refuse_a_wrong_or_missing_token(client: Client, settings: Any, header: str) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=header)

    assert response.status_code == 404


def test_metrics_refuse_any_bearer_token_when_none_is_configured(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 404


def test_a_forged_forwarded_for_does_not_make_a_client_local(client: Client) -> None:
    # Without NUM_PROXIES the header is never read: Daphne's --proxy-headers sets REMOTE_ADDR itself.
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert response.status_code == 404


def test_behind_a_local_proxy_with_num_proxies_the_forwarded_client_decides(
    client: Client, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    outside = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    inside = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert (outside.status_code, inside.status_code) == (404, 200)


# --- Each metric moves with its event -----------------------------------------------------------


@in_db
def pair() -> tuple[Any, Any, Any]:
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    return alice, bob, chat


def send_frame(chat_id: int, content: str) -> dict[str, Any]:
    return {"type": "send_message", "payload": {"chat_id": chat_id, "content": content}}


@pytest.mark.django_db(transaction=True)
async def test_an_open_socket_counts_until_it_closes_and_its_close_code_is_counted() -> None:
    alice, _, _ = await pair()
    moves = Moves(("chat_websocket_open", {}), ("chat_websocket_closes_total", {"code": "1000"}))

    ws, accepted, _ = await open_socket(alice)
    opened = moves.delta()
    await ws.close()
    await asyncio.sleep(0.1)

    assert accepted
    assert opened == [1, 0]
    assert moves.delta() == [0, 1]


@pytest.mark.django_db(transaction=True)
async def test_a_refused_socket_counts_its_close_code_but_never_open() -> None:
    moves = Moves(("chat_websocket_open", {}), ("chat_websocket_closes_total", {"code": "4401"}))

    ws, accepted, _ = await open_socket(token="not-a-token")
    code = await ws.recv_close()

    assert (accepted, code) == (True, 4401)
    assert moves.delta() == [0, 1]


@pytest.mark.django_db(transaction=True)
async def test_a_sent_message_moves_frames_in_and_out_messages_sent_and_delivery_latency() -> None:
    alice, bob, chat = await pair()
    ws_a, _, _ = await open_socket(alice)
    ws_b, _, _ = await open_socket(bob)
    moves = Moves(
        ("chat_websocket_frames_received_total", {"type": "send_message"}),
        ("chat_websocket_frames_sent_total", {"type": "new_message"}),
        ("chat_messages_sent_total", {}),
        ("chat_broadcast_delivery_seconds_count", {}),
    )

    await ws_a.send(send_frame(chat.pk, "hello"))
    assert (await ws_b.recv())["type"] == "new_message"
    assert (await ws_a.recv())["type"] == "new_message"
    await asyncio.sleep(0.2)  # the broadcast's copy for alice's own socket arrives too
    await ws_a.close()
    await ws_b.close()

    received, sent, stored, delivered = moves.delta()
    assert (received, sent, stored) == (1, 2, 1)
    # bob's socket and alice's (whose copy is a duplicate of her direct answer) each received it.
    assert delivered == 2


@pytest.mark.django_db(transaction=True)
async def test_unparseable_and_unknown_frames_count_under_bounded_labels() -> None:
    alice, _, _ = await pair()
    ws, _, _ = await open_socket(alice)
    moves = Moves(
        ("chat_websocket_frames_received_total", {"type": "invalid"}),
        ("chat_websocket_frames_received_total", {"type": "unknown"}),
        ("chat_websocket_frames_received_total", {"type": "made-up-type"}),
    )

    await ws.send_raw("not json")
    await ws.recv()
    await ws.send_raw('{"type": "made-up-type", "payload": {}}')
    await ws.recv()
    await ws.close()

    assert moves.delta() == [1, 1, 0]


@pytest.mark.django_db(transaction=True)
async def test_a_resume_counts_once_with_the_messages_it_replayed() -> None:
    alice, bob, chat = await pair()
    for text in ("one", "two"):
        await in_db(message_services.message_send)(chat_id=chat.pk, sender=alice, content=text)
    moves = Moves(("chat_websocket_resumes_total", {}), ("chat_websocket_replayed_messages_total", {}))
    ws, _, _ = await open_socket(bob)

    await ws.send({"type": "resume", "payload": {"chats": {str(chat.pk): 0}}})
    frames = [await ws.recv() for _ in range(3)]
    await ws.close()

    assert [f["type"] for f in frames] == ["new_message", "new_message", "resumed"]
    assert moves.delta() == [1, 2]


@pytest.mark.django_db(transaction=True)
async def test_frames_over_the_sockets_rate_count_as_throttled(chat_overrides: Any) -> None:
    chat_overrides.WS_FRAME_RATE_PER_SECOND = 0.01
    chat_overrides.WS_FRAME_BURST = 1
    alice, _, chat = await pair()
    ws, _, _ = await open_socket(alice)
    moves = Moves(("chat_throttled_total", {"transport": "websocket"}))

    for _ in range(3):
        await ws.send({"type": "typing", "payload": {"chat_id": chat.pk}})
    await asyncio.sleep(0.2)
    await ws.close()

    assert moves.delta() == [2]


def test_a_429_counts_as_a_throttled_request(client: Client, settings: Any, db: None) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "1/min"},
    }
    moves = Moves(("chat_throttled_total", {"transport": "http"}))
    body = {"email": "nobody@example.com", "password": "x"}

    statuses = [
        client.post("/api/login", body, content_type="application/json").status_code for _ in range(2)
    ]

    assert statuses[1] == 429
    assert moves.delta() == [1]


def test_a_message_sent_over_rest_counts_once_committed(
    db: None, make_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    moves = Moves(("chat_messages_sent_total", {}))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = make_client(alice).post(
            "/api/messages/send", {"chat_id": chat.pk, "content": "hi"}, format="json"
        )
        before_commit = moves.delta()
    for callback in callbacks:
        callback()

    assert response.status_code == 200
    assert before_commit == [0]
    assert moves.delta() == [1]


class FailingLayer:
    """A channel layer whose group_send fails, or hangs past the broadcast timeout."""

    def __init__(self, hang: bool):
        self.hang = hang

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if self.hang:
            await asyncio.sleep(1)
        raise ConnectionError("redis is gone")


@pytest.mark.parametrize(("hang", "kind"), [(False, "broadcast_failed"), (True, "broadcast_timeout")])
def test_a_broadcast_the_layer_fails_counts_as_a_layer_error(
    monkeypatch: pytest.MonkeyPatch, chat_overrides: Any, hang: bool, kind: str
) -> None:
    chat_overrides.BROADCAST_TIMEOUT_SECONDS = 0.05
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: FailingLayer(hang))
    message = broadcast.layer_message("chat.1", broadcast.ServerEvent.TYPING, {"chat_id": 1, "user_id": 2})
    moves = Moves(("chat_channel_layer_errors_total", {"kind": kind}))

    # Through the public door: the sender thread takes it from the queue and the layer fails it.
    assert broadcast.BroadcastSender().submit("chat.1", message)
    deadline = time.monotonic() + 5
    while moves.delta() != [1] and time.monotonic() < deadline:
        time.sleep(0.02)

    assert moves.delta() == [1]


async def test_a_failed_redis_ping_counts_as_a_layer_error(settings: Any, chat_overrides: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    chat_overrides.WS_LAYER_CHECK_SECONDS = 0.01
    lost = asyncio.Event()

    class Socket:
        async def layer_lost(self) -> None:
            lost.set()

    socket = Socket()
    moves = Moves(("chat_channel_layer_errors_total", {"kind": "ping_failed"}))

    watchdog.watch(socket)
    await asyncio.wait_for(lost.wait(), 10)

    assert moves.delta() == [1]
