import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from psycopg import sql

from bench import data as benchmark_data
from blog.models import Post, Tag
from core import page_cache

PROJECT_DIR = Path(settings.BASE_DIR)
# What a browser sends; WhiteNoise and the page cache both answer it compressed.
ACCEPT_ENCODING = "gzip, deflate, br"
DEEP_PAGE = 500
TARGET_CACHED_RATIO = 0.8
TARGET_CACHED_P99_MS = 15
TARGET_UNCACHED_LISTING_RATIO = 0.12
TARGET_DEEP_PAGE_RATIO = 1.5


class Command(BaseCommand):
    help = (
        "Load N posts into a PostgreSQL benchmark database, serve them with the real gunicorn "
        "configuration on 127.0.0.1 and measure pages with wrk, with the page cache on and off. "
        "Prints requests/s, p50 and p99 latency, each page's throughput as a share of a static "
        "file's, SQL queries per page and the memory of each worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--posts", type=int, default=10_000)
        parser.add_argument("--duration", type=int, default=10, help="Seconds of wrk per page.")
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--workers", type=int, help="Default: gunicorn.conf.py's choice.")

    def handle(self, *args, posts, duration, connections, workers, **options):
        self.duration, self.connections, self.workers = duration, connections, workers
        database = settings.DATABASES["default"]
        if connection.vendor != "postgresql" or "bench" not in database["NAME"]:
            raise CommandError(
                "needs a PostgreSQL database of its own, with 'bench' in its name, as it "
                "replaces every post: DATABASE_URL=postgres://…/blog_bench (make bench sets it)"
            )
        if not shutil.which("wrk"):
            raise CommandError("needs wrk on the PATH (Debian: apt-get install wrk)")
        create_database(database)
        call_command("migrate", verbosity=0)
        self.load(posts)
        with tempfile.TemporaryDirectory() as scratch:
            self.static_root = Path(scratch) / "static"
            subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                cwd=PROJECT_DIR,
                env={**os.environ, "DJANGO_STATIC_ROOT": str(self.static_root)},
                check=True,
            )
            self.scratch = Path(scratch)
            pages = self.pages()
            self.print_query_counts(pages)
            self.measure(pages)

    def load(self, count):
        if Post.objects.published().count() == count:
            self.stdout.write(f"Reusing the {count} posts already in the benchmark database.")
            return
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE blog_post, blog_post_tags, blog_tag, blog_series RESTART IDENTITY CASCADE"
            )
        benchmark_data.make_posts(count)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        page_cache.invalidate()
        seconds = time.perf_counter() - started
        self.stdout.write(f"Loaded {count} posts in {seconds:.0f} s.")

    def pages(self):
        manifest = json.loads((self.static_root / "staticfiles.json").read_text())
        post_count = Post.objects.published().count()
        deep_page = min(DEEP_PAGE, max(1, (post_count + 9) // 10))
        middle_post = Post.objects.published().order_by("-published_at")[post_count // 2]
        tag = Tag.objects.order_by("slug").first()
        return {
            "static file": f"{settings.STATIC_URL}{manifest['paths']['css/site.css']}",
            "listing, page 1": "/",
            f"listing, page {deep_page}": f"/?page={deep_page}",
            "post": middle_post.get_absolute_url(),
            "tag": tag.get_absolute_url(),
            "search": f"/search/?q={quote('queue backpressure')}",
            "Atom feed": "/feed/",
        }

    def print_query_counts(self, pages):
        self.stdout.write("\nSQL queries per request (Django test client):")
        self.stdout.write(f"  {'page':<22} {'uncached':>9} {'cache hit':>10}")
        caches = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(self.scratch / "test-client-cache"),
            },
            "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
        limits = {
            "SEARCHES_PER_IP_PER_MINUTE": 10**9,
            "ALLOWED_HOSTS": ["testserver"],
            "CACHES": caches,
            "STATIC_ROOT": str(self.static_root),
        }
        with override_settings(**limits, PAGE_CACHE_SECONDS=0):
            rows = [(name, self.count_queries(path)) for name, path in pages.items()]
        with override_settings(**limits, PAGE_CACHE_SECONDS=600):
            for (name, uncached), path in zip(rows, pages.values(), strict=True):
                self.count_queries(path)
                self.stdout.write(f"  {name:<22} {uncached:>9} {self.count_queries(path):>10}")

    def count_queries(self, path):
        with CaptureQueriesContext(connection) as queries:
            response = Client().get(path)
        if response.status_code != 200:
            raise CommandError(f"{path} answered {response.status_code}")
        return len(queries)

    def measure(self, pages):
        cached = self.serve_and_measure(pages, PAGE_CACHE_SECONDS="600")
        uncached = self.serve_and_measure(pages, PAGE_CACHE_SECONDS="0")
        listing = {name: pages[name] for name in ("static file", "listing, page 1")}
        no_reuse = self.serve_and_measure(
            listing, PAGE_CACHE_SECONDS="0", DATABASE_CONN_MAX_AGE="0"
        )
        self.report(pages, cached, uncached, no_reuse)

    def serve_and_measure(self, pages, **env):
        with self.gunicorn(**env) as (port, master):
            results = {}
            for name, path in pages.items():
                url = f"http://127.0.0.1:{port}{path}"
                for _ in range(20):
                    fetch(url)
                results[name] = self.wrk(url)
            results["memory"] = worker_memory(master)
        return results

    @contextmanager
    def gunicorn(self, **env):
        port = free_port()
        cache_dir = tempfile.mkdtemp(dir=self.scratch)
        environment = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_STATIC_ROOT": str(self.static_root),
            "CACHE_DIR": cache_dir,
            "SEARCHES_PER_IP_PER_MINUTE": str(10**9),
            **env,
        }
        if self.workers:
            environment["WEB_CONCURRENCY"] = str(self.workers)
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_healthy(port, server)
            yield port, server.pid
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)

    def wrk(self, url):
        output = subprocess.run(  # noqa: S603
            [
                shutil.which("wrk"),
                "--threads",
                "2",
                "--connections",
                str(self.connections),
                "--duration",
                f"{self.duration}s",
                "--latency",
                "--header",
                f"Accept-Encoding: {ACCEPT_ENCODING}",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return parse_wrk(output)

    def report(self, pages, cached, uncached, no_reuse):
        ceiling = cached["static file"]["rps"]
        self.stdout.write(
            f"\nwrk, {self.connections} connections, {self.duration} s per page, "
            f"Accept-Encoding: {ACCEPT_ENCODING}. Ratio = requests/s ÷ the static file's "
            f"({ceiling:.0f}/s, cache on).\n"
        )
        header = f"  {'page':<22}"
        for label in ("cache on", "cache off"):
            header += f" | {label + ' req/s':>16} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}"
        self.stdout.write(header)
        for name in pages:
            line = f"  {name:<22}"
            for results in (cached, uncached):
                row = results[name]
                line += (
                    f" | {row['rps']:>16.0f} {row['p50']:>7.2f} {row['p99']:>7.2f} "
                    f"{row['rps'] / ceiling:>6.2f}"
                )
                if row["errors"]:
                    line += f" ({row['errors']} errors)"
            self.stdout.write(line)

        names = list(pages)
        deep = names[2]
        deep_ratio = uncached[deep]["p50"] / uncached["listing, page 1"]["p50"]
        reuse_ratio = no_reuse["listing, page 1"]["rps"] / uncached["listing, page 1"]["rps"]
        self.stdout.write(
            f"\nListing p50 without the cache: page 1 {uncached['listing, page 1']['p50']:.2f} ms, "
            f"{deep} {uncached[deep]['p50']:.2f} ms (ratio {deep_ratio:.2f})."
        )
        self.stdout.write(
            "Listing without the cache and a new PostgreSQL connection per request "
            f"(DATABASE_CONN_MAX_AGE=0): {no_reuse['listing, page 1']['rps']:.0f} req/s, "
            f"{reuse_ratio:.2f} × the persistent connections' rate."
        )
        for label, results in (("cache on", cached), ("cache off", uncached)):
            memory = ", ".join(
                f"{rss:.0f} MB RSS / {pss:.0f} MB PSS" for rss, pss in results["memory"]
            )
            self.stdout.write(f"Workers after the {label} run: {memory}.")

        cached_pages = [name for name in names if name not in ("static file", "search")]
        checks = [
            (
                f"cached pages ≥ {TARGET_CACHED_RATIO} × static, p99 ≤ {TARGET_CACHED_P99_MS} ms",
                [
                    name
                    for name in cached_pages
                    if cached[name]["rps"] / ceiling < TARGET_CACHED_RATIO
                    or cached[name]["p99"] > TARGET_CACHED_P99_MS
                ],
            ),
            (
                f"uncached listing ≥ {TARGET_UNCACHED_LISTING_RATIO} × static",
                []
                if uncached["listing, page 1"]["rps"] / ceiling >= TARGET_UNCACHED_LISTING_RATIO
                else ["listing, page 1"],
            ),
            (
                f"deep listing p50 ≤ {TARGET_DEEP_PAGE_RATIO} × page 1",
                [] if deep_ratio <= TARGET_DEEP_PAGE_RATIO else [deep],
            ),
        ]
        self.stdout.write("\nTargets:")
        for target, misses in checks:
            verdict = "met" if not misses else "missed by " + ", ".join(misses)
            self.stdout.write(f"  {target}: {verdict}")


def create_database(database):
    """Create the benchmark database when it doesn't exist yet."""
    server = {
        "host": database["HOST"] or None,
        "port": database["PORT"] or None,
        "user": database["USER"] or None,
        "password": database["PASSWORD"] or None,
        "dbname": "postgres",
    }
    with psycopg.connect(**server, autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]]
        ).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database["NAME"])))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url):
    request = urllib.request.Request(url, headers={"Accept-Encoding": ACCEPT_ENCODING})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.read()


def wait_until_healthy(port, server):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError("gunicorn exited at start-up")
        try:
            fetch(f"http://127.0.0.1:{port}/healthz")
            return
        except OSError:
            time.sleep(0.2)
    raise CommandError("gunicorn did not answer /healthz within 30 s")


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output):
    def latency(percent):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        return float(match.group(1)) * UNITS_MS[match.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(number) for number in socket_errors.groups())
    return {"rps": rps, "p50": latency(50), "p99": latency(99), "errors": errors}


def worker_memory(master_pid):
    """(RSS, PSS) in MB of each gunicorn worker; PSS splits pages shared with the others."""
    memory = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields["PPid"]) != master_pid:
                continue
            rollup = (status.parent / "smaps_rollup").read_text()
        except (OSError, KeyError, ValueError):
            continue
        rss = int(fields["VmRSS"].split()[0]) / 1024
        pss = int(re.search(r"^Pss:\s+(\d+)", rollup, re.MULTILINE).group(1)) / 1024
        memory.append((rss, pss))
    return sorted(memory)
