"""The Redis cache keeps its connections across requests: one pool per process, not one per request."""

import urllib.request

import pytest
import redis
from django.conf import settings
from django.core.cache import caches

from accounts.tests.factories import UserFactory
from realtime.tests.live import daphne_server
from realtime.tests.wsclient import access_token


def connections_received() -> int:
    return int(redis.Redis.from_url(settings.REDIS_URL).info("stats")["total_connections_received"])


def get_me(base: str, token: str) -> int:
    request = urllib.request.Request(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_daphne_requests_reuse_the_cache_connections():
    # Under Daphne each request runs in a new context, where Django builds a new cache object: with the
    # stock backend that was a new pool and a new Redis connection per request.
    token = access_token(UserFactory())
    with daphne_server(settings.REDIS_URL) as server:
        assert get_me(server.base, token) == 200  # the pool's first connection
        before = connections_received()
        statuses = [get_me(server.base, token) for _ in range(20)]
        opened = connections_received() - before - 1  # less the one counting them

    assert statuses == [200] * 20
    assert opened <= 2  # the pool may add one for a request overlapping another; never one per request


@pytest.mark.django_db
def test_every_cache_object_of_one_configuration_shares_one_client():
    first, second = caches.create_connection("default"), caches.create_connection("default")

    assert first is not second
    assert first._cache is second._cache
