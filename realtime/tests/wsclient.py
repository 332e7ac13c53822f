"""Test client for the chat socket: every frame sent and received is checked against asyncapi.yaml."""

import asyncio
import contextlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from channels.testing import WebsocketCommunicator
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from rest_framework_simplejwt.tokens import RefreshToken

from realtime.routing import websocket_application

DOC_PATH = Path(__file__).resolve().parents[1] / "asyncapi.yaml"
DOC_URI = "urn:asyncapi"


@cache
def _validators() -> dict[str, dict[str, list[Draft202012Validator]]]:
    """{"client"|"server": {frame type: [validator, ...]}} built from the AsyncAPI operations."""
    doc = yaml.safe_load(DOC_PATH.read_text())
    registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(doc))
    result: dict[str, dict[str, list[Draft202012Validator]]] = {"client": {}, "server": {}}
    for side, operation in (("client", "clientSends"), ("server", "serverSends")):
        for ref in doc["operations"][operation]["messages"]:
            key = ref["$ref"].rsplit("/", 1)[1]
            message = doc["components"]["messages"][key]
            schema_ref = message["payload"]["$ref"]
            validator = Draft202012Validator({"$ref": DOC_URI + schema_ref}, registry=registry)
            result[side].setdefault(message["name"], []).append(validator)
    return result


def check_frame(side: str, frame: dict[str, Any]) -> None:
    """Raise AssertionError unless `frame` matches one of the documented frames of its type."""
    candidates = _validators()[side].get(frame.get("type", ""))
    assert candidates, f"{side} frame type {frame.get('type')!r} is not in asyncapi.yaml"
    errors = [list(v.iter_errors(frame)) for v in candidates]
    assert any(not e for e in errors), f"{side} frame does not match asyncapi.yaml: {frame}: {errors}"


def access_token(user: Any) -> str:
    """A fresh access token for `user`."""
    return str(RefreshToken.for_user(user).access_token)


class Socket:
    """A connected WebsocketCommunicator that validates frames both ways.

    `presence` frames arrive whenever a user sharing a chat connects or disconnects; unless the socket
    was opened with presence=True they are validated, kept in `presence_frames` and skipped by recv(),
    nothing() and recv_close(), so tests of other behaviour see only the frames they are about.
    """

    def __init__(self, communicator: WebsocketCommunicator, presence: bool = False):
        self.communicator = communicator
        self.presence = presence
        self.presence_frames: list[dict[str, Any]] = []
        self._pending: list[dict[str, Any]] = []

    def _skipped(self, frame: dict[str, Any]) -> bool:
        if frame.get("type") == "presence" and not self.presence:
            self.presence_frames.append(frame)
            return True
        return False

    async def send(self, frame: dict[str, Any]) -> None:
        """Send a documented frame (validated first)."""
        check_frame("client", frame)
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def send_raw(self, text: str) -> None:
        """Send anything, unvalidated (for error cases)."""
        await self.communicator.send_to(text_data=text)

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        """The next frame, validated against the document."""
        if self._pending:
            return self._pending.pop(0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.communicator.receive_json_from(timeout=max(deadline - loop.time(), 0.01))
            check_frame("server", frame)
            if not self._skipped(frame):
                return frame

    async def recv_close(self, timeout: float = 3) -> int:
        """Wait for the server to close; return the close code."""
        while True:
            output = await self.communicator.receive_output(timeout=timeout)
            if output["type"] == "websocket.send" and self._skipped(json.loads(output.get("text", "{}"))):
                continue
            assert output["type"] == "websocket.close", output
            return int(output.get("code", 1000))

    async def nothing(self, timeout: float = 0.3) -> bool:
        """True when no frame arrives within `timeout`."""
        if self._pending:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0 or await self.communicator.receive_nothing(timeout=remaining):
                return True
            output = await self.communicator.receive_output(timeout=1)
            if output["type"] != "websocket.send":
                return False
            frame = json.loads(output["text"])
            check_frame("server", frame)
            if not self._skipped(frame):
                self._pending.append(frame)
                return False

    async def close(self) -> None:
        """Disconnect from the client side."""
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await self.communicator.disconnect()


async def open_socket(
    user: Any = None,
    *,
    token: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    subprotocols: list[str] | None = None,
    query: str = "",
    presence: bool = False,
) -> tuple[Socket, bool, Any]:
    """Connect as `user` (Authorization header) or with explicit credentials; (socket, accepted, detail).

    With presence=True, recv() returns `presence` frames too (see Socket).
    """
    all_headers = list(headers or [])
    if user is not None and token is None:
        token = await _token(user)
    if token is not None:
        all_headers.append((b"authorization", f"Bearer {token}".encode()))
    path = "/api/ws" + (f"?{query}" if query else "")
    communicator = WebsocketCommunicator(
        websocket_application, path, headers=all_headers, subprotocols=subprotocols
    )
    accepted, detail = await communicator.connect(timeout=5)
    return Socket(communicator, presence), accepted, detail


async def _token(user: Any) -> str:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(access_token)(user)
