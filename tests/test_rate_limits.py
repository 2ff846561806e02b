"""Each limit counts over its whole window, exactly, whatever cache the site runs with."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client

from core.models import RateLimitWindow
from core.ratelimit import allow_request

# Mid-morning UTC: a day's window runs from midnight, so the rest of the day is 14 hours.
MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def subscribe(client, email, **extra):
    return client.post("/newsletter/", {"email": email}, **extra)


@pytest.mark.django_db
def test_a_day_limit_still_holds_hours_later_in_the_same_day(any_cache, settings):
    settings.NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY = 3
    client = Client()
    with time_machine.travel(MORNING, tick=False) as clock:
        statuses = []
        for hours in (0, 1, 2, 3, 13):
            clock.move_to(MORNING + timedelta(hours=hours))
            statuses.append(subscribe(client, "ada@example.com").status_code)
    assert statuses == [303, 303, 303, 429, 429]


@pytest.mark.django_db
def test_a_day_limit_opens_again_the_next_day(any_cache, settings):
    settings.NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY = 1
    client = Client()
    with time_machine.travel(MORNING, tick=False) as clock:
        assert subscribe(client, "ada@example.com").status_code == 303
        assert subscribe(client, "ada@example.com").status_code == 429
        clock.move_to(MORNING + timedelta(hours=14))
        assert subscribe(client, "ada@example.com").status_code == 303


@pytest.mark.django_db
def test_retrying_after_a_refusal_does_not_push_the_window_forward(any_cache, settings):
    settings.NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR = 2
    client = Client()
    with time_machine.travel(MORNING, tick=False) as clock:
        subscribe(client, "one@example.com")
        subscribe(client, "two@example.com")
        for minutes in range(5, 60, 5):
            clock.move_to(MORNING + timedelta(minutes=minutes))
            assert subscribe(client, "again@example.com").status_code == 429
        clock.move_to(MORNING + timedelta(hours=1))
        assert subscribe(client, "three@example.com").status_code == 303


@pytest.mark.django_db
def test_the_search_limit_counts_a_whole_minute(any_cache, settings, make_post):
    settings.SEARCHES_PER_IP_PER_MINUTE = 2
    make_post(title="Queues")
    client = Client()
    with time_machine.travel(MORNING, tick=False) as clock:
        statuses = []
        for seconds in (0, 20, 59):
            clock.move_to(MORNING + timedelta(seconds=seconds))
            statuses.append(client.get("/search/", {"q": "queues"}).status_code)
        clock.move_to(MORNING + timedelta(seconds=60))
        statuses.append(client.get("/search/", {"q": "queues"}).status_code)
    assert statuses == [200, 200, 429, 200]


@pytest.mark.django_db
def test_ended_windows_are_forgotten_when_a_new_one_starts():
    with time_machine.travel(MORNING, tick=False) as clock:
        allow_request("a", 5, 60)
        allow_request("b", 5, 60)
        clock.move_to(MORNING + timedelta(minutes=2))
        allow_request("a", 5, 60)
    assert list(RateLimitWindow.objects.values_list("bucket", "hits")) == [("a", 1)]


@pytest.mark.django_db
def test_counting_a_use_is_one_statement(django_assert_num_queries):
    allow_request("warm", 5, 60)
    with django_assert_num_queries(1):
        allow_request("warm", 5, 60)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_get_more_than_the_limit():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent writers")
    allowed, start = [], threading.Barrier(8)

    def client_thread():
        start.wait()
        try:
            allowed.extend(allow_request("burst", 20, 3600) for _ in range(10))
        finally:
            connections.close_all()

    with time_machine.travel(MORNING, tick=False):
        threads = [threading.Thread(target=client_thread) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert allowed.count(True) == 20
    assert RateLimitWindow.objects.get(bucket="burst").hits == 80
