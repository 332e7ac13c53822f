"""The compose topology without Docker: Debian's nginx with deploy/nginx.conf in front of two `web`
replicas started with compose's own command and environment, on the test PostgreSQL and Redis.

Only what Docker provides is replaced, by templating here: the service name `web` (Docker's DNS) becomes
the replicas' 127.0.0.1 ports, nginx's port 80 a free one, the `media` volume a shared temporary
directory, and `${...}` secrets test values. Everything else is read from docker-compose.yml and
deploy/nginx.conf, so the files and this test cannot drift apart.
"""

import asyncio
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.utils import timezone
from websockets.asyncio.client import connect

from accounts.tests.factories import UserFactory
from chatproject.conf import chat_settings
from chatproject.server.body_limits import body_limit
from chats import services as chat_services
from messaging.models import Attachment
from realtime.tests.live import database_url, free_port, receive_frame
from realtime.tests.wsclient import access_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
# The clients connect from a second loopback address, so "the client" and "nginx" differ in the logs.
CLIENT_ADDRESS = "127.0.0.2"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def nginx_binary() -> str:
    """Debian's nginx; under CI its absence fails the test (.ci/run installs nginx-light)."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is required under CI (.ci/run installs Debian's nginx-light)")
        pytest.skip("no nginx binary on this machine (apt-get install nginx-light)")
    return binary


def compose_service(name: str = "web") -> dict[str, Any]:
    """A service of docker-compose.yml (merge keys resolved)."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][name]


def web_command(port: int) -> list[str]:
    """compose's web command, with the container's `python`, interface and port made local."""
    command = list(compose_service()["command"])
    assert command[:3] == ["python", "-m", "chatproject.serve"], command
    command[0] = sys.executable
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


def service_environment(media_root: Path, service: str = "web") -> dict[str, str]:
    """A compose service's environment: the wiring Docker provides (addresses, volume, secrets) replaced."""
    local = {
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "MEDIA_ROOT": str(media_root),
    }
    env: dict[str, str] = {}
    for name, value in compose_service(service)["environment"].items():
        if name in local:
            env[name] = local[name]
        else:
            assert ":?" not in str(value), f"{name}: a required secret the test does not provide"
            # ${NAME:-default} as compose substitutes it when NAME is unset.
            env[name] = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
    return env


def nginx_conf(upstream_ports: list[int], port: int) -> str:
    """deploy/nginx.conf with Docker's names made local: the only edits this topology needs."""
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"server 127.0.0.1:{p};\n    " for p in upstream_ports).rstrip()
    conf, found = re.subn(r"server web:8000 resolve;", servers, conf)
    assert found == 1
    conf, found = re.subn(r"\bresolver 127\.0\.0\.11[^;]*;", "", conf)
    assert found == 1
    conf, found = re.subn(r"\blisten 80;", f"listen 127.0.0.1:{port};", conf)
    assert found == 1
    return conf


@dataclass
class Replica:
    """One `web` replica: its port and the file its output (the app's access log included) goes to."""

    port: int
    log: Path
    process: subprocess.Popen[bytes]

    def records(self) -> list[dict[str, Any]]:
        """Every complete line of the log, each one JSON record: compose sets LOG_FORMAT=json."""
        text = self.log.read_text(errors="replace")
        return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line.strip()]

    def lines(self, pattern: str) -> list[dict[str, Any]]:
        """The records whose message contains `pattern` (an access record's is "GET /path 200")."""
        return [record for record in self.records() if pattern in record["message"]]


@dataclass
class Topology:
    """nginx on `port` in front of two replicas."""

    port: int
    replicas: list[Replica]
    media: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=15, source_address=(CLIENT_ADDRESS, 0)
        )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def logged(self, pattern: str, total: int, timeout: float = 10) -> list[int]:
        """Per replica, how many access-log lines contain `pattern`, once they add up to `total`."""
        deadline = time.monotonic() + timeout
        while True:
            counts = [len(replica.lines(pattern)) for replica in self.replicas]
            if sum(counts) >= total:
                return counts
            assert time.monotonic() < deadline, f"{counts} lines logged {pattern!r}, wanted {total}"
            time.sleep(0.05)


def wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            # The answer must come from this process: if it exited (its port taken), another answered.
            if conn.getresponse().status == 200 and process.poll() is None:
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"not up on {port}: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def start_replica(log: Path, env: dict[str, str], attempts: int = 3) -> Replica:
    """One healthy replica on a free port; another port when something took this one before it bound."""
    for attempt in range(attempts):
        port = free_port()
        with log.open("wb") as out:
            process = subprocess.Popen(
                web_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_healthy(port, process, log)
            return Replica(port, log, process)
        except RuntimeError:
            stop(process)
            if attempt == attempts - 1 or "cannot listen" not in log.read_text(errors="replace"):
                raise
    raise AssertionError("unreachable")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    binary = nginx_binary()
    media = tmp_path / "media"
    media.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DEBUG": "0", **service_environment(media)}
    replicas: list[Replica] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for index in range(2):
            replicas.append(start_replica(tmp_path / f"web{index}.log", env))

        port = free_port()
        (tmp_path / "chat.conf").write_text(nginx_conf([r.port for r in replicas], port))
        # One worker: round-robin over the replicas is then exact, request after request.
        (tmp_path / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
            f"events {{}}\nhttp {{\n    access_log off;\n    include {tmp_path}/chat.conf;\n}}\n"
        )
        nginx = subprocess.Popen(
            [binary, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_healthy(port, nginx, tmp_path / "error.log")
        yield Topology(port, replicas, media)
    finally:
        if nginx is not None:
            stop(nginx)
        for replica in replicas:
            stop(replica.process)


def multipart(field: str, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def pair() -> tuple[Any, Any, Any]:
    alice, bob = UserFactory(), UserFactory()
    chat, _ = chat_services.chat_create_private(user=alice, other_user_id=bob.pk)
    return alice, bob, chat


def test_an_upload_through_nginx_to_one_replica_downloads_from_the_other(topology, pair):
    alice, bob, chat = pair
    auth_a = {"Authorization": f"Bearer {access_token(alice)}"}
    body, content_type = multipart("file", "dot.png", PNG)

    status, reply = topology.request(
        "POST", "/api/attachments", body, {**auth_a, "Content-Type": content_type}
    )
    assert status == 201, reply
    attachment_id = json.loads(reply)["id"]
    uploaded_on = topology.logged("POST /api/attachments", 1).index(1)
    send = json.dumps({"chat_id": chat.pk, "content": "see", "attachment_ids": [attachment_id]}).encode()
    status, reply = topology.request(
        "POST", "/api/messages/send", send, {**auth_a, "Content-Type": "application/json"}
    )
    assert status == 200, reply

    path = f"/api/attachments/{attachment_id}/download"
    auth_b = {"Authorization": f"Bearer {access_token(bob)}"}
    downloads = [topology.request("GET", path, headers=auth_b) for _ in range(2)]

    # Round-robin sends the two downloads to different replicas: one of them is not the uploader's.
    assert downloads == [(200, PNG), (200, PNG)]
    assert topology.logged(f"GET {path}", 2) == [1, 1]
    assert topology.replicas[1 - uploaded_on].lines(f"GET {path}")


def test_a_socket_on_each_replica_sees_the_messages_sent_on_the_other(topology, pair):
    alice, bob, chat = pair
    url = f"ws://127.0.0.1:{topology.port}/api/ws"

    headers_a = {"Authorization": f"Bearer {access_token(alice)}"}
    headers_b = {"Authorization": f"Bearer {access_token(bob)}"}

    def send(text: str) -> str:
        return json.dumps({"type": "send_message", "payload": {"chat_id": chat.pk, "content": text}})

    async def message(ws: Any, content: str) -> dict:
        """The next `new_message` frame with `content` (a sender's own socket gets its echo too)."""
        while True:
            frame = await receive_frame(ws, "new_message")
            if frame["payload"]["content"] == content:
                return frame

    async def scenario() -> tuple[list[int], list[int], dict, dict]:
        async with connect(url, additional_headers=headers_a) as ws_a:
            after_a = topology.logged("websocket open", 1)
            async with connect(url, additional_headers=headers_b) as ws_b:
                after_b = topology.logged("websocket open", 2)
                await ws_a.send(send("from a"))
                got_b = await message(ws_b, "from a")
                await ws_b.send(send("from b"))
                got_a = await message(ws_a, "from b")
        return after_a, after_b, got_a, got_b

    after_a, after_b, got_a, got_b = asyncio.run(scenario())

    # Round-robin put the two sockets on different replicas: only Redis joins them.
    assert sorted(after_a) == [0, 1]
    assert after_b == [1, 1]
    assert (got_b["payload"]["chat_id"], got_b["payload"]["sender_id"]) == (chat.pk, alice.pk)
    assert (got_a["payload"]["chat_id"], got_a["payload"]["sender_id"]) == (chat.pk, bob.pk)


def test_replicas_log_the_client_that_nginx_saw_never_a_forged_header(topology):
    status, _ = topology.request("GET", "/healthz", headers={"X-Forwarded-For": "203.0.113.9"})

    assert status == 200

    # The checks before it came from 127.0.0.1; the one through nginx is logged with the client's address.
    def clients() -> list[str]:
        return [r["client"] for replica in topology.replicas for r in replica.lines("GET /healthz")]

    deadline = time.monotonic() + 10
    while CLIENT_ADDRESS not in clients():
        assert time.monotonic() < deadline, clients()
        time.sleep(0.05)
    assert clients().count(CLIENT_ADDRESS) == 1, clients()
    assert "203.0.113.9" not in clients()
    assert set(clients()) == {"127.0.0.1", CLIENT_ADDRESS}


def test_the_maintenance_service_deletes_an_abandoned_upload_from_the_shared_media(topology, pair):
    alice, _, _ = pair
    body, content_type = multipart("file", "dot.png", PNG)
    headers = {"Authorization": f"Bearer {access_token(alice)}", "Content-Type": content_type}
    status, reply = topology.request("POST", "/api/attachments", body, headers)
    assert status == 201, reply
    upload = Attachment.objects.get(pk=json.loads(reply)["id"])
    stored = topology.media / upload.file.name
    assert stored.read_bytes() == PNG
    age = timedelta(hours=chat_settings.ATTACHMENT_UNSENT_MAX_AGE_HOURS + 1)
    Attachment.objects.filter(pk=upload.pk).update(created_at=timezone.now() - age)

    # compose's maintenance command and environment, for one round.
    command = [
        sys.executable if part == "python" else part for part in compose_service("maintenance")["command"]
    ]
    env = {**os.environ, "DEBUG": "0", **service_environment(topology.media, "maintenance")}
    result = subprocess.run(
        [*command, "--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "attachments: deleted 1 unsent attachment(s)" in result.stdout.splitlines()
    assert not Attachment.objects.filter(pk=upload.pk).exists()
    assert not stored.exists()


def test_nginx_refuses_a_body_over_the_apps_limit_with_the_apps_json(topology):
    limit, body = body_limit(b"/api/register")
    status, reply = topology.request(
        "POST", "/api/register", b"x" * (limit + 1), {"Content-Type": "application/json"}
    )

    assert (status, json.loads(reply)) == (413, body)
    # nginx answered: neither replica saw the request.
    assert topology.logged("POST /api/register", 0) == [0, 0]
