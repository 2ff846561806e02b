import resource
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from blog.models import Post
from newsletter import issues, sending
from newsletter.models import Delivery, Subscriber

BENCH_DOMAIN = "bench.invalid"


class QueryCounter:
    """Counts queries without keeping them, so the count costs no memory of its own."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def peak_rss_mib():
    # ru_maxrss is in KiB on Linux: the most this process has held at once, so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(port):
    """aiosmtpd's discarding sink in a process of its own, as a real mail server would be: in
    this process it would share the worker's interpreter lock."""
    sink = subprocess.Popen(  # noqa: S603 (a fixed argument list, no shell)
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
        + ["-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise CommandError("the SMTP sink did not start")


class Command(BaseCommand):
    help = (
        "Measure newsletter sending: one issue to N made-up subscribers for each N, through "
        "aiosmtpd's sink on 127.0.0.1 in its own process. Prints messages per second, SQL "
        "queries per message and the worker's peak memory, then deletes what it made. Needs the "
        "dev extra (aiosmtpd) and a published post."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--subscribers",
            default="1000,10000",
            help="comma-separated counts, smallest first (peak memory only grows)",
        )
        parser.add_argument("--rate", type=float, default=0, help="messages/s; 0 = no limit")

    def handle(self, *args, subscribers, rate, **options):
        try:
            counts = [int(count) for count in subscribers.split(",")]
        except ValueError as error:
            raise CommandError("--subscribers takes counts like 1000,10000") from error
        post = Post.objects.published().first()
        if post is None:
            raise CommandError("needs a published post: run load_demo first")
        port = free_port()
        sink = start_sink(port)
        smtp = {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": port,
            "EMAIL_HOST_USER": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
        }
        self.stdout.write(
            f"Sending “{post.title}” through a local SMTP sink, rate limit {rate or 'none'}, "
            f"batch size {settings.NEWSLETTER_BATCH_SIZE}, {connection.vendor}\n"
        )
        self.stdout.write(
            f"{'subscribers':>11}  {'sent':>6}  {'time':>7}  {'messages/s':>10}  "
            f"{'queries/message':>15}  {'peak RSS':>9}"
        )
        try:
            with override_settings(**smtp, NEWSLETTER_SEND_RATE=rate):
                for count in counts:
                    self.measure(post, count)
        finally:
            sink.terminate()
            sink.wait()

    def measure(self, post, count):
        bench_subscribers = Subscriber.objects.filter(email__endswith=f"@{BENCH_DOMAIN}")
        bench_subscribers.delete()  # left over from an interrupted run
        now = timezone.now()
        Subscriber.objects.bulk_create(
            (
                Subscriber(
                    email=f"reader{number}@{BENCH_DOMAIN}",
                    status=Subscriber.Status.CONFIRMED,
                    consent_at=now,
                    consent_wording="benchmark",
                    confirmed_at=now,
                )
                for number in range(count)
            ),
            batch_size=1000,
        )
        issue = None
        try:
            # Not send_post(): no task is queued, so no running worker can join in.
            issue = issues.create_issue(post, bench_subscribers)
            counter = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                sending.send_issue(issue.pk)
            elapsed = time.perf_counter() - started
            sent = issue.deliveries.filter(status=Delivery.Status.SENT).count()
        finally:
            if issue is not None:
                issue.delete()
            bench_subscribers.delete()
        self.stdout.write(
            f"{count:>11}  {sent:>6}  {elapsed:>6.1f}s  {sent / elapsed:>10.0f}  "
            f"{counter.count / count:>15.2f}  {peak_rss_mib():>6.0f} MiB"
        )
