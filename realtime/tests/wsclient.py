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
    """A connected WebsocketCommunicator that validates frames both ways."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator

    async def send(self, frame: dict[str, Any]) -> None:
        """Send a documented frame (validated first)."""
        check_frame("client", frame)
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def send_raw(self, text: str) -> None:
        """Send anything, unvalidated (for error cases)."""
        await self.communicator.send_to(text_data=text)

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        """The next frame, validated against the document."""
        frame = await self.communicator.receive_json_from(timeout=timeout)
        check_frame("server", frame)
        return frame

    async def recv_close(self, timeout: float = 3) -> int:
        """Wait for the server to close; return the close code."""
        output = await self.communicator.receive_output(timeout=timeout)
        assert output["type"] == "websocket.close", output
        return int(output.get("code", 1000))

    async def nothing(self, timeout: float = 0.3) -> bool:
        """True when no frame arrives within `timeout`."""
        return bool(await self.communicator.receive_nothing(timeout=timeout))

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
) -> tuple[Socket, bool, Any]:
    """Connect as `user` (Authorization header) or with explicit credentials; (socket, accepted, detail)."""
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
    return Socket(communicator), accepted, detail


async def _token(user: Any) -> str:
    from channels.db import database_sync_to_async

    return await database_sync_to_async(access_token)(user)
