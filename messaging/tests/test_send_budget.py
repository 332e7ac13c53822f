"""THROTTLE_SEND over HTTP: one per-user budget for sends and edits, 429 with Retry-After past it."""

import time

import pytest
from rest_framework.test import APIClient

from chats.tests.factories import add_messages, group_chat, run_in_threads
from conftest import bearer
from messaging.models import Message

pytestmark = pytest.mark.django_db


def set_send_rate(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "send": rate},
    }


@pytest.fixture
def chat(user, bob):
    return group_chat(user, bob)


def send(client, chat, content="hi", **body):
    return client.post("/api/messages/send", {"chat_id": chat.pk, "content": content, **body}, format="json")


def edit(client, message_id, content):
    return client.patch(f"/api/messages/{message_id}", {"content": content}, format="json")


def assert_rate_limited(response, period):
    assert response.status_code == 429
    body = response.json()
    assert body == {
        "error": "rate limit exceeded",
        "code": "rate_limited",
        "retry_after": body["retry_after"],
    }
    assert response["Retry-After"] == str(body["retry_after"])
    # At most the rest of this window plus one slot of the next: the budget is a sliding window.
    assert 1 <= body["retry_after"] <= period + period


def test_sends_past_the_budget_are_429_with_retry_after(settings, auth_client, chat):
    set_send_rate(settings, "3/min")
    answers = [send(auth_client, chat, f"m{i}") for i in range(4)]

    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert_rate_limited(answers[3], 60)
    assert list(Message.objects.values_list("content", flat=True).order_by("seq")) == ["m0", "m1", "m2"]


def test_edits_spend_the_same_budget_as_sends(settings, auth_client, user, chat):
    set_send_rate(settings, "3/min")
    (message,) = add_messages(chat, user, 1, text="original")

    assert send(auth_client, chat).status_code == 200
    assert edit(auth_client, message.pk, "first edit").status_code == 200
    assert edit(auth_client, message.pk, "second edit").status_code == 200
    refused_edit = edit(auth_client, message.pk, "third edit")
    refused_send = send(auth_client, chat)

    assert_rate_limited(refused_edit, 60)
    assert_rate_limited(refused_send, 60)
    message.refresh_from_db()
    assert message.content == "second edit"
    assert Message.objects.count() == 2


def test_budget_is_per_user(settings, auth_client, bob, chat):
    set_send_rate(settings, "1/min")
    bobs_client = APIClient()
    bobs_client.credentials(HTTP_AUTHORIZATION=bearer(bob))

    assert send(auth_client, chat).status_code == 200
    assert send(bobs_client, chat).status_code == 200
    assert send(auth_client, chat).status_code == 429


def test_repeat_of_a_client_id_costs_nothing_and_still_answers(settings, auth_client, chat):
    set_send_rate(settings, "2/min")
    first = send(auth_client, chat, "once", client_id="c-1")
    repeats = [send(auth_client, chat, "once", client_id="c-1") for _ in range(3)]
    second = send(auth_client, chat, "two", client_id="c-2")
    third = send(auth_client, chat, "three", client_id="c-3")

    assert first.status_code == 200
    assert {(r.status_code, r.json()["id"]) for r in repeats} == {(200, first.json()["id"])}
    assert second.status_code == 200
    assert_rate_limited(third, 60)


def test_refused_sends_and_unchanged_edits_cost_nothing(settings, auth_client, user, carol, chat):
    set_send_rate(settings, "1/min")
    (message,) = add_messages(chat, user, 1)
    elsewhere = group_chat(carol)

    assert send(auth_client, elsewhere).status_code == 403  # not a member: nothing stored
    assert send(auth_client, chat, reply_to=987654321).status_code == 400
    assert edit(auth_client, message.pk, message.content).status_code == 200  # unchanged: a no-op
    assert send(auth_client, chat).status_code == 200
    assert send(auth_client, chat).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_from_many_clients_never_pass_the_budget(settings, user, bob):
    set_send_rate(settings, "7/min")
    chat = group_chat(user, bob)

    def burst(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=bearer(user))
        return [send(client, chat).status_code for _ in range(3)]

    codes = [code for codes in run_in_threads(8, burst) for code in codes]

    assert (codes.count(200), codes.count(429)) == (7, 17)
    assert Message.objects.count() == 7


def test_waiting_retry_after_lets_the_next_send_through(settings, auth_client, chat):
    set_send_rate(settings, "2/s")
    answers = (send(auth_client, chat) for _ in range(6))
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert_rate_limited(refused, 1)

    time.sleep(refused.json()["retry_after"])

    assert send(auth_client, chat).status_code == 200


def test_budget_without_redis_counts_in_this_process(settings, auth_client, chat):
    # The embedded mode (no REDIS_URL): the local-memory cache holds the counters.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    set_send_rate(settings, "2/min")

    answers = [send(auth_client, chat, f"m{i}") for i in range(3)]

    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert_rate_limited(answers[2], 60)
    assert Message.objects.count() == 2


def test_redis_counters_are_the_cache_api_s_and_always_expire(settings, user, auth_client, chat):
    # One pipelined round trip writes what Django's cache API reads (and refund's decr changes).
    from django.core.cache import cache

    from messaging.budget import _key

    set_send_rate(settings, "100/min")
    window = int(time.time() // 60)
    for i in range(3):
        assert send(auth_client, chat, f"m{i}").status_code == 200
    counted = [cache.get(_key(user.pk, w), 0) for w in (window, window + 1)]  # the minute may turn
    assert sum(counted) == 3
    current = next(w for w, n in zip((window, window + 1), counted, strict=True) if n)
    raw = cache._cache.get_client(write=True)
    assert 0 < raw.ttl(cache.make_and_validate_key(_key(user.pk, current))) <= 2 * 60 + 1
