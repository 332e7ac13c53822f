"""HTTP limits enforced in Daphne itself (chatproject.server), tried on a real Daphne process."""

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from accounts.tests.factories import UserFactory
from chatproject.conf import chat_settings
from realtime.tests.live import DaphneServer, daphne_server
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
# What Daphne may grow by while refusing a huge body: it must not hold any of it.
RSS_SLACK_KIB = 8 * 1024


def rss_kib(pid: int) -> int:
    """The process's resident memory (VmRSS) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def port_of(server: DaphneServer) -> int:
    return int(server.base.rsplit(":", 1)[1])


def read_reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP answer up to the end of its Content-Length body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` on a new connection and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(raw)
        return read_reply(sock)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker) -> Iterator[DaphneServer]:
    """One Daphne for the module, as `make run` starts it (Makefile flags)."""
    with django_db_blocker.unblock(), daphne_server(settings.REDIS_URL, args=MAKE_RUN_ARGS) as live:
        yield live


MAKE_RUN_ARGS = ["--websocket-max-message-size", "65536"]


@pytest.fixture
def token(db) -> str:
    return access_token(UserFactory())


def head(path: str, extra: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{extra}\r\n".encode()


@pytest.mark.parametrize(
    ("path", "content_type", "expected"),
    [
        (
            "/api/attachments",
            "multipart/form-data; boundary=b",
            {"error": "file is too large (at most 10485760 bytes)", "code": "attachment_too_large"},
        ),
        ("/api/register", "application/json", {"error": "request body too large", "code": "too_large"}),
    ],
)
def test_body_declared_over_the_limit_gets_413_json_before_it_is_sent(
    server, token, path, content_type, expected
):
    before = rss_kib(server.process.pid)
    raw = head(path, f"Content-Type: {content_type}\r\nContent-Length: {200 * MIB}\r\n", token)

    # Only the headers and the first KiB go out: the answer must come without the rest of the body.
    status, headers, body = exchange(port_of(server), raw + b"--b\r\n" + b"x" * 1024)

    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == expected
    assert rss_kib(server.process.pid) - before < RSS_SLACK_KIB


def test_unauthenticated_200_mib_upload_sent_whole_does_not_grow_daphne(server):
    """The issue's attack: the client sends all of it whatever the server answers."""
    block = b"z" * MIB
    before = rss_kib(server.process.pid)
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=20) as sock:
        sock.sendall(
            head(
                "/api/attachments",
                f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {200 * MIB}\r\n",
            )
        )
        try:
            for _ in range(200):
                sock.sendall(block)
        except OSError:
            pass  # the server gave up on it (reset after its answer): what it should do
        status, _, body = read_reply(sock)

    assert (status, json.loads(body)["code"]) == (413, "attachment_too_large")
    assert rss_kib(server.process.pid) - before < RSS_SLACK_KIB


@pytest.mark.parametrize(
    ("path", "limit_setting", "code"),
    [("/api/attachments", "ATTACHMENT_MAX_BYTES", "attachment_too_large"), ("/api/login", None, "too_large")],
)
def test_chunked_body_is_cut_off_with_413_once_past_the_limit(server, token, path, limit_setting, code):
    limit = getattr(chat_settings, limit_setting) if limit_setting else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    total = limit + 64 * MIB  # far more than the limit and what kernel buffers can absorb
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"y" * 64 * 1024)
    before = rss_kib(server.process.pid)
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=20) as sock:
        sock.sendall(
            head(
                path, "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n", token
            )
        )
        sent = 0
        # Keep sending until the server answers; a server that waits for the whole body never does.
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 20)
            if readable:
                break
            assert writable, "the server neither reads nor answers"
            sock.sendall(chunk)
            sent += 64 * 1024
        status, headers, body = read_reply(sock)

    assert sent < total, "the whole body was sent before any answer"
    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == code
    assert rss_kib(server.process.pid) - before < RSS_SLACK_KIB


def test_body_within_the_limit_still_reaches_the_app(server):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 1000)
    body = json.dumps({"email": "nobody@example.com", "password": "secret", "padding": padding}).encode()
    raw = head("/api/login", f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n") + body

    status, headers, answer = exchange(port_of(server), raw)

    # The view answered: no such user.
    assert (status, json.loads(answer)["code"]) == (404, "user_not_found")
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("content_type", "code"),
    [
        ("multipart/form-data; boundary=other", "invalid"),  # no part found: the `file` field is missing
        ("multipart/form-data", "invalid_upload"),
        ("multipart/form-data; boundary=", "invalid_upload"),
    ],
)
def test_malformed_multipart_upload_is_400_json(server, token, content_type, code):
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello'
    raw = head("/api/attachments", f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n", token)

    status, headers, answer = exchange(port_of(server), raw + body)

    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(answer)["code"] == code


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\x00b\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: value\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n",
        b"NOT A REQUEST LINE\r\n\r\n",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # refused by Daphne, not Twisted
    ],
)
def test_request_the_server_cannot_parse_is_400_json(server, raw):
    status, headers, answer = exchange(port_of(server), raw)

    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(answer) == {"error": "bad request", "code": "bad_request"}


def test_openapi_lists_413_on_every_operation_with_a_body():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    with_body = [
        (method, path, operation["responses"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]

    assert with_body
    assert [(method, path) for method, path, responses in with_body if "413" not in responses] == []
