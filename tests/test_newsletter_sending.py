import email
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection

from bench import sending as bench_sending
from newsletter import services, tasks
from newsletter.models import Delivery, NewsletterIssue, Subscriber
from tests.mail_servers import HookedBackend, SMTPServer, WorkerKilled

CODE_POST = """Intro with `inline_code` and a [relative link](/posts/other/).

```python
def compare_exchange(cell, expected, new):
    if cell.value == expected:
        cell.value = new
```
"""


@pytest.fixture
def hooked_email(settings):
    settings.EMAIL_BACKEND = "tests.mail_servers.HookedBackend"
    yield HookedBackend
    HookedBackend.before_send = None


@pytest.fixture
def subscribers(make_subscriber):
    return [make_subscriber(f"reader{number}@example.com") for number in range(1, 6)]


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def test_issue_goes_to_confirmed_subscribers_only(make_post, make_subscriber, run_tasks):
    make_subscriber("yes@example.com")
    make_subscriber("pending@example.com", status=Subscriber.Status.PENDING)
    make_subscriber("gone@example.com", status=Subscriber.Status.UNSUBSCRIBED)
    services.send_post(make_post())
    run_tasks()
    assert recipients() == ["yes@example.com"]


def test_issue_email_has_title_full_body_and_link_to_the_post(make_post, subscribers, run_tasks):
    post = make_post(title="Lock-free queues", slug="lock-free", body=CODE_POST)
    services.send_post(post)
    run_tasks()
    message = mail.outbox[0]
    html, mimetype = message.alternatives[0]
    assert message.subject == "Lock-free queues"
    assert mimetype == "text/html"
    assert "http://127.0.0.1:8000/posts/lock-free/" in message.body
    assert 'href="http://127.0.0.1:8000/posts/lock-free/"' in html
    assert 'href="http://127.0.0.1:8000/posts/other/"' in html
    assert "compare_exchange" in html


def test_issue_html_styles_code_inline_for_mail_clients(make_post, subscribers, run_tasks):
    services.send_post(make_post(body=CODE_POST))
    run_tasks()
    html = mail.outbox[0].alternatives[0][0]
    assert "<pre style=" in html
    assert '<span style="color: #008000;font-weight: bold;">def</span>' in html
    assert '<code style="' in html
    assert 'class="k"' not in html


def test_issue_html_leaves_out_the_sites_heading_anchors(make_post, subscribers, run_tasks):
    services.send_post(make_post(body="## Memory ordering\n\nWords."))
    run_tasks()
    html = mail.outbox[0].alternatives[0][0]
    assert '<h2 id="memory-ordering">Memory ordering</h2>' in html
    assert 'href="#memory-ordering"' not in html


def test_issue_text_part_keeps_code_indentation(make_post, subscribers, run_tasks):
    services.send_post(make_post(body=CODE_POST))
    run_tasks()
    assert "\n    if cell.value == expected:\n        cell.value = new\n" in mail.outbox[0].body


def test_issue_email_carries_unsubscribe_link_and_one_click_headers(
    make_post, subscribers, run_tasks, client, link_in
):
    services.send_post(make_post())
    run_tasks()
    message = mail.outbox[0]
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http://127.0.0.1:8000/newsletter/unsubscribe/")
    assert header.endswith("/one-click/>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link_in(message, "unsubscribe") in header


def test_one_click_header_unsubscribes_with_a_bare_post(make_post, subscribers, run_tasks):
    from django.test import Client

    services.send_post(make_post())
    run_tasks()
    message = mail.outbox[0]
    url = message.extra_headers["List-Unsubscribe"].strip("<>").split(">")[0]
    response = Client(enforce_csrf_checks=True).post(
        url.removeprefix("http://127.0.0.1:8000"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Subscriber.objects.get(email=message.to[0]).status == Subscriber.Status.UNSUBSCRIBED


def test_mailto_unsubscribe_is_advertised_only_when_configured(
    make_post, subscribers, run_tasks, settings
):
    settings.NEWSLETTER_UNSUBSCRIBE_MAILTO = "leave@example.com"
    services.send_post(make_post())
    run_tasks()
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    assert header.endswith(", <mailto:leave@example.com?subject=unsubscribe>")


def test_issue_records_progress(make_post, subscribers, run_tasks):
    issue = services.send_post(make_post())
    assert issue.deliveries.filter(status=Delivery.Status.QUEUED).count() == 5
    run_tasks()
    assert issue.deliveries.filter(status=Delivery.Status.SENT).count() == 5
    issue.refresh_from_db()
    assert issue.finished_at is not None
    assert issue.lease_owner == ""


def test_interrupted_send_resumes_without_missing_or_repeating_anyone(
    make_post, subscribers, run_tasks, hooked_email
):
    issue = services.send_post(make_post())

    def die_after_two(sent_so_far):
        if sent_so_far == 2:
            raise WorkerKilled

    hooked_email.before_send = die_after_two
    with pytest.raises(WorkerKilled):
        tasks.send_issue.call(issue.pk)
    assert len(mail.outbox) == 2

    hooked_email.before_send = None
    tasks.send_issue.enqueue(issue.pk)
    run_tasks()
    assert recipients() == [subscriber.email for subscriber in subscribers]
    assert issue.deliveries.filter(status=Delivery.Status.SENT).count() == 5


def test_unsubscribing_during_a_send_stops_further_email(
    make_post, subscribers, run_tasks, hooked_email, client
):
    services.send_post(make_post())
    last = subscribers[-1]

    def unsubscribe_last_after_first(sent_so_far):
        if sent_so_far == 1:
            services.unsubscribe(last)

    hooked_email.before_send = unsubscribe_last_after_first
    run_tasks()
    assert last.email not in recipients()
    assert len(mail.outbox) == 4
    assert Delivery.objects.get(subscriber=last).status == Delivery.Status.SKIPPED


def test_a_second_sender_leaves_a_leased_issue_alone(make_post, subscribers, run_tasks):
    issue = services.send_post(make_post())
    other_worker = tasks.send_issue.call  # as if another worker held the lease
    NewsletterIssue.objects.filter(pk=issue.pk).update(
        lease_owner="someone-else",
        lease_expires_at=issue.created_at + timedelta(hours=1),
    )
    assert other_worker(issue.pk) == "another worker holds the lease"
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_permanent_failure_is_recorded_and_the_rest_are_sent(make_post, subscribers, smtp_server):
    smtp_server.replies["reader2@example.com"] = ["550 5.1.1 No such user"]
    issue = services.send_post(make_post())
    tasks.send_issue.call(issue.pk)
    failed = issue.deliveries.get(status=Delivery.Status.FAILED)
    assert failed.subscriber.email == "reader2@example.com"
    assert "550" in failed.last_error
    assert sorted(smtp_server.recipients()) == [
        f"reader{number}@example.com" for number in (1, 3, 4, 5)
    ]
    assert len(smtp_server.connections) == 1


@pytest.mark.django_db(transaction=True)
def test_temporary_failure_is_retried_then_sent(make_post, subscribers, smtp_server, run_tasks):
    smtp_server.replies["reader3@example.com"] = ["451 4.3.0 Try again later"]
    issue = services.send_post(make_post())
    run_tasks()
    delivery = issue.deliveries.get(subscriber__email="reader3@example.com")
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == 2
    assert smtp_server.recipients().count("reader3@example.com") == 1


@pytest.mark.django_db(transaction=True)
def test_temporary_failures_are_retried_a_bounded_number_of_times(
    make_post, subscribers, smtp_server, run_tasks, settings
):
    settings.NEWSLETTER_MAX_ATTEMPTS = 3
    smtp_server.replies["reader1@example.com"] = ["451 4.3.0 Try again later"] * 10
    issue = services.send_post(make_post())
    run_tasks()
    delivery = issue.deliveries.get(subscriber__email="reader1@example.com")
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 3
    assert len(smtp_server.replies["reader1@example.com"]) == 7
    issue.refresh_from_db()
    assert issue.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_one_smtp_connection_per_batch(make_post, subscribers, smtp_server, settings):
    settings.NEWSLETTER_BATCH_SIZE = 2
    issue = services.send_post(make_post())
    tasks.send_issue.call(issue.pk)
    assert len(smtp_server.recipients()) == 5
    assert len(smtp_server.connections) == 3


@pytest.mark.django_db(transaction=True)
def test_unreachable_mail_server_counts_as_a_temporary_failure(make_post, subscribers, settings):
    from tests.mail_servers import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.NEWSLETTER_RETRY_DELAY = 60
    issue = services.send_post(make_post())
    assert tasks.send_issue.call(issue.pk) == "retries pending"
    assert set(issue.deliveries.values_list("status", "attempts")) == {("queued", 1)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_send_resumes_and_reaches_everyone(make_post, make_subscriber):
    if connection.vendor != "postgresql":
        pytest.skip("the worker subprocess needs a database it can share")
    for number in range(40):
        make_subscriber(f"kill{number:02}@example.com")
    issue = services.send_post(make_post())
    db = connection.settings_dict
    with SMTPServer() as server:
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "DJANGO_SECRET_KEY": "worker-test",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(server.port),
            "NEWSLETTER_SEND_RATE": "40",
            "NEWSLETTER_LEASE_SECONDS": "2",
        }
        manage = [sys.executable, str(Path(__file__).resolve().parents[1] / "manage.py")]
        worker_command = [*manage, "db_worker", "--no-startup-delay", "--interval", "0.2"]
        worker = subprocess.Popen(worker_command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + 30
        while len(server.handler.recipients()) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        sent_before_kill = len(server.handler.recipients())
        assert 15 <= sent_before_kill < 40

        subprocess.run([*manage, "resume_sending"], env=env, check=True, capture_output=True)  # noqa: S603
        worker = subprocess.Popen(worker_command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
        try:
            while time.monotonic() < deadline + 30:
                issue.refresh_from_db()
                if issue.finished_at:
                    break
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait()
        received = server.handler.recipients()
    assert issue.finished_at is not None
    assert set(received) == {f"kill{number:02}@example.com" for number in range(40)}
    # The one message in flight when the worker died may go out twice; nothing else may.
    assert len(received) - 40 <= 1
    messages = [
        email.message_from_bytes(raw, policy=policy.default) for _, raw in server.handler.received
    ]
    assert all(message["List-Unsubscribe-Post"] for message in messages)


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.mark.parametrize(
    ("per_second", "sleeps"), [(4, [0.25, 0.25, 0.25, 0.25]), (0, [])], ids=["4/s", "unlimited"]
)
def test_pace_spaces_messages_to_the_configured_rate(monkeypatch, per_second, sleeps):
    from newsletter import sending

    clock = FakeClock()
    monkeypatch.setattr(sending, "time", clock)
    pace = sending.Pace(per_second)
    for _ in range(5):
        pace.wait()
    assert clock.slept == sleeps


def test_sending_benchmark_prints_figures_and_leaves_nothing_behind(make_post, make_subscriber):
    from io import StringIO

    from django.core.management import call_command

    make_post()
    make_subscriber("real@example.com")
    output = StringIO()
    call_command(bench_sending.Command(), subscribers="3,5", stdout=output)
    rows = [line.split() for line in output.getvalue().splitlines()[2:]]
    assert [row[:2] for row in rows] == [["3", "3"], ["5", "5"]]
    assert "queries/message" in output.getvalue()
    assert "peak RSS" in output.getvalue()
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["real@example.com"]
    assert not NewsletterIssue.objects.exists()
    assert mail.outbox == []
