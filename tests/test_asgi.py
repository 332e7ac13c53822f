"""The ASGI app's HTTP side (chatproject.asgi_http.SyncChainASGIHandler), as Daphne calls it."""

import json

import pytest
from channels.testing import HttpCommunicator

from chatproject.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def request(method: str, path: str, body: bytes = b"", headers: list | None = None) -> dict:
    # Daphne passes the client's Content-Length through; Django reads the body by it.
    base = [(b"host", b"localhost"), (b"content-length", str(len(body)).encode())]
    communicator = HttpCommunicator(application, method, path, body=body, headers=[*base, *(headers or [])])
    response = await communicator.get_response(timeout=10)
    # Let the handler finish (request_finished returns the connection to the pool), as Daphne does.
    await communicator.wait(timeout=10)
    return response


async def test_asgi_healthz_touches_database_and_layer_and_answers_json():
    response = await request("GET", "/healthz")

    assert response["status"] == 200
    assert json.loads(response["body"]) == {"status": "ok", "database": "ok", "channel_layer": "ok"}


async def test_asgi_register_then_login_runs_the_whole_chain_and_writes():
    body = {"username": "Ada", "email": "ada@example.com", "password": "a long enough passphrase"}
    headers = [(b"content-type", b"application/json")]

    registered = await request("POST", "/api/register", json.dumps(body).encode(), headers)
    login = await request(
        "POST",
        "/api/login",
        json.dumps({"email": body["email"], "password": body["password"]}).encode(),
        headers,
    )

    assert registered["status"] == 201
    assert login["status"] == 200
    assert set(json.loads(login["body"])) == {"access_token", "refresh_token"}


async def test_asgi_malformed_json_is_400_invalid_json():
    response = await request("POST", "/api/login", b"{not json", [(b"content-type", b"application/json")])

    assert response["status"] == 400
    assert json.loads(response["body"])["error"] == "invalid json"


async def test_asgi_unknown_url_is_404_json():
    response = await request("GET", "/no/such/page")

    assert response["status"] == 404
    assert "error" in json.loads(response["body"])
