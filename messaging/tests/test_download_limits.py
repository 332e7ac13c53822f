"""Downloads on a real Daphne: streamed chunk by chunk, and a client that does not read holds little."""

import socket
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from messaging.attachments import services as attachment_services
from realtime.tests.live import daphne_server
from realtime.tests.wsclient import access_token

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
SIZE = 8 * MIB
NON_READERS = 10
LIMITS = {"HTTP_MAX_BUFFERED_BYTES": str(256 * 1024), "HTTP_DRAIN_TIMEOUT_SECONDS": "2"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def request_download(port: int, path: str, token: str, *, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode()
    )
    return sock


def read_all(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """Everything the server sends until it closes; (data, whether it ended with a reset)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(MIB):
            data += chunk
    except ConnectionResetError:
        return data, True
    return data, False


def test_download_streams_and_a_client_that_does_not_read_is_bounded_then_dropped():
    alice = UserFactory()
    content = (b"0123456789abcdef" * (SIZE // 16))[:SIZE]
    attachment = attachment_services.attachment_upload(
        uploader=alice, file=SimpleUploadedFile("big.txt", content)
    )
    path = f"/api/attachments/{attachment.pk}/download"
    token = access_token(alice)
    env = {**LIMITS, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}

    with daphne_server(settings.REDIS_URL, env=env) as server:
        port = int(server.base.rsplit(":", 1)[1])
        # Warm the process up once, reading, so its first-request allocations are not counted.
        reader = request_download(port, path, token)
        body, _ = read_all(reader, 20)
        reader.close()
        assert body.partition(b"\r\n\r\n")[2] == content
        before = rss_kib(server.process.pid)

        stalled = [request_download(port, path, token, rcvbuf=4096) for _ in range(NON_READERS)]
        time.sleep(1.5)
        grown_mib = (rss_kib(server.process.pid) - before) / 1024
        # Unbounded, each would hold the whole file (8 MiB, twice over while Django copied it): 80+ MiB.
        assert grown_mib < 32, f"Daphne grew by {grown_mib:.0f} MiB for {NON_READERS} stalled downloads"

        # Meanwhile a reading client gets the whole file, byte for byte.
        reader = request_download(port, path, token)
        body, reset = read_all(reader, 20)
        reader.close()
        head, _, payload = body.partition(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n", 1)[0]
        assert not reset
        assert payload == content

        # The stalled clients are cut off once HTTP_DRAIN_TIMEOUT_SECONDS passes, having got a part only.
        time.sleep(3)
        for sock in stalled:
            data, _ = read_all(sock, 10)
            sock.close()
            assert len(data) < SIZE
