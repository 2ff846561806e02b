"""Admin login throttling: one user name from one address, locked after repeated wrong passwords."""

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

PASSWORD = "correct-horse-battery"
ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.20"
PROXY = "192.0.2.1"
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LOCKED_OUT = "Too many attempts, try again in 15 minutes."


pytestmark = pytest.mark.django_db


def log_in(username, password, address, **headers):
    return Client().post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **headers,
    )


def fail(times, username="ada", address=ATTACKER, **headers):
    return [log_in(username, "wrong", address, **headers).status_code for _ in range(times)]


def test_the_fifth_wrong_password_locks_out_even_the_right_one(author):
    assert fail(5) == [200, 200, 200, 200, 429]
    response = log_in("ada", PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()


def test_the_lockout_holds_with_either_cache(author, any_cache):
    fail(5)
    assert log_in("ada", PASSWORD, ATTACKER).status_code == 429


def test_the_lockout_page_is_in_the_admins_layout_with_no_inline_script_or_style(author):
    fail(5)
    response = log_in("ada", PASSWORD, ATTACKER)
    html = response.content.decode()
    assert "<title>Too many login attempts | Django site admin</title>" in html
    assert 'href="/admin/login/"' in html
    assert "<style" not in html
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_lockout_page_is_never_stored(author):
    fail(5)
    response = log_in("ada", PASSWORD, ATTACKER)
    assert "no-store" in response["Cache-Control"]
    form = Client().get("/admin/login/", REMOTE_ADDR=ELSEWHERE)
    assert form.status_code == 200
    assert "Too many attempts" not in form.content.decode()


def test_the_real_user_logs_in_from_another_address(author):
    fail(5)
    response = log_in("ada", PASSWORD, ELSEWHERE)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_a_login_that_works_starts_the_count_over(author):
    assert fail(4) == [200] * 4
    assert log_in("ada", PASSWORD, ATTACKER).status_code == 302
    assert fail(4) == [200] * 4
    assert log_in("ada", PASSWORD, ATTACKER).status_code == 302


def test_the_pair_can_log_in_again_once_the_lockout_has_passed(author):
    with time_machine.travel(NOON, tick=False) as clock:
        fail(5)
        clock.move_to(NOON + timedelta(minutes=15, seconds=1))
        assert log_in("ada", PASSWORD, ATTACKER).status_code == 302


def test_an_attempt_while_locked_out_starts_the_wait_again(author):
    with time_machine.travel(NOON, tick=False) as clock:
        fail(5)
        clock.move_to(NOON + timedelta(minutes=14))
        assert log_in("ada", PASSWORD, ATTACKER).status_code == 429
        clock.move_to(NOON + timedelta(minutes=16))
        assert log_in("ada", PASSWORD, ATTACKER).status_code == 429
        clock.move_to(NOON + timedelta(minutes=16 + 15, seconds=1))
        assert log_in("ada", PASSWORD, ATTACKER).status_code == 302


def test_failures_for_another_user_name_lock_only_that_name(author):
    fail(5, username="admin")
    assert log_in("admin", "guess", ATTACKER).status_code == 429
    assert log_in("ada", PASSWORD, ATTACKER).status_code == 302


def test_a_failed_login_is_logged_with_its_address_and_without_the_password(author, caplog):
    with caplog.at_level(logging.WARNING, logger="axes"):
        log_in("ada", "hunter2-typo", ATTACKER)
    failures = [r.getMessage() for r in caplog.records if r.name.startswith("axes")]
    assert len(failures) == 1
    assert "login failure" in failures[0]
    assert ATTACKER in failures[0]
    assert "hunter2-typo" not in caplog.text


def test_behind_a_proxy_the_forwarded_address_is_the_one_counted(author, settings):
    settings.BEHIND_PROXY = True
    fail(5, address=PROXY, HTTP_X_FORWARDED_FOR=f"10.9.9.9, {ATTACKER}")
    # The client chooses the hops before the proxy's own: changing them changes nothing.
    spoofed = log_in("ada", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=f"10.1.1.1, {ATTACKER}")
    assert spoofed.status_code == 429
    assert log_in("ada", PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code == 302


def test_a_garbled_forwarded_address_is_counted_not_a_server_error(author, settings):
    settings.BEHIND_PROXY = True
    statuses = fail(5, address=PROXY, HTTP_X_FORWARDED_FOR="not-an-address")
    assert statuses == [200, 200, 200, 200, 429]


def test_an_ipv6_address_counts_the_same_however_it_is_written(author):
    fail(3, address="2001:db8::1")
    fail(2, address="2001:DB8:0:0::1")
    assert log_in("ada", PASSWORD, "2001:db8:0:0:0:0:0:1").status_code == 429
