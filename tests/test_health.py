"""GET /healthz touches the database and the channel layer for real, and names what is down."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

REDIS_BACKENDS = [
    "channels_redis.core.RedisChannelLayer",
    "channels_redis.pubsub.RedisPubSubChannelLayer",
    "realtime.layer.pubsub.DecodeOncePubSubChannelLayer",
]


def layer_at(backend: str, url: str) -> dict[str, dict[str, object]]:
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": [url]}}}


@pytest.fixture(params=REDIS_BACKENDS, ids=["core", "pubsub", "pubsub-decode-once"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_healthz_returns_200_when_database_and_channel_layer_answer(api_client, settings, backend):
    settings.CHANNEL_LAYERS = layer_at(backend, settings.REDIS_URL)

    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_healthz_returns_200_with_configured_channel_layer(api_client, settings):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] in REDIS_BACKENDS

    response = api_client.get("/healthz")

    assert response.status_code == 200


def test_healthz_needs_no_credentials(api_client):
    response = api_client.get("/healthz", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 200


def test_healthz_returns_503_naming_channel_layer_when_redis_unreachable(api_client, backend):
    # Nothing listens on port 1: Redis connections are refused at once.
    with override_settings(CHANNEL_LAYERS=layer_at(backend, "redis://127.0.0.1:1/0")):
        response = api_client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "channel_layer": "unavailable"}


def test_healthz_recovers_when_channel_layer_is_back(api_client, backend):
    with override_settings(CHANNEL_LAYERS=layer_at(backend, "redis://127.0.0.1:1/0")):
        api_client.get("/healthz")

    response = api_client.get("/healthz")

    assert response.status_code == 200


def test_healthz_returns_503_naming_database_when_database_unreachable(dead_database_server):
    reply = dead_database_server.request("GET", "/healthz")

    assert reply.status == 503
    assert reply.json() == {"status": "unavailable", "database": "unavailable", "channel_layer": "ok"}
