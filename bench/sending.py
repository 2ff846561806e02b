import socket
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from blog.models import Post
from newsletter import issues, sending
from newsletter.models import Subscriber

BENCH_DOMAIN = "bench.invalid"


class CountingSink:
    def __init__(self):
        self.messages = 0
        self.connections = set()

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        self.connections.add(session.peer)
        return "250 OK"


class Command(BaseCommand):
    help = (
        "Measure newsletter sending: an issue to N made-up subscribers, through a local SMTP "
        "sink on 127.0.0.1. Prints messages per second and SQL queries per message, then "
        "deletes what it made. Needs the dev extra (aiosmtpd) and a published post."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=2000)
        parser.add_argument("--rate", type=float, default=0, help="messages/s; 0 = no limit")

    def handle(self, *args, subscribers, rate, **options):
        try:
            from aiosmtpd.controller import Controller
        except ImportError as error:
            raise CommandError("needs aiosmtpd: pip install -e '.[dev]'") from error
        post = Post.objects.published().first()
        if post is None:
            raise CommandError("needs a published post: run load_demo first")

        bench_subscribers = Subscriber.objects.filter(email__endswith=f"@{BENCH_DOMAIN}")
        bench_subscribers.delete()  # left over from an interrupted run
        sink = CountingSink()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        issue = None
        try:
            now = timezone.now()
            Subscriber.objects.bulk_create(
                Subscriber(
                    email=f"reader{number}@{BENCH_DOMAIN}",
                    status=Subscriber.Status.CONFIRMED,
                    consent_at=now,
                    consent_wording="benchmark",
                    confirmed_at=now,
                )
                for number in range(subscribers)
            )
            smtp = {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": port,
                "EMAIL_HOST_USER": "",
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": False,
            }
            with override_settings(**smtp, NEWSLETTER_SEND_RATE=rate):
                # Not send_post(): no task is queued, so no running worker can join in.
                issue = issues.create_issue(post, bench_subscribers)
                started = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    sending.send_issue(issue.pk)
                elapsed = time.perf_counter() - started
        finally:
            controller.stop()
            if issue is not None:
                issue.delete()
            bench_subscribers.delete()

        self.stdout.write(
            f"messages sent      {sink.messages} of {subscribers}\n"
            f"time               {elapsed:.1f} s\n"
            f"throughput         {sink.messages / elapsed:.0f} messages/s (rate limit: "
            f"{rate or 'none'})\n"
            f"SQL queries        {len(queries) / subscribers:.2f} per message\n"
            f"SMTP connections   {len(sink.connections)} (batch size "
            f"{settings.NEWSLETTER_BATCH_SIZE})"
        )
