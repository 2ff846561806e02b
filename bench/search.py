import statistics
import time
from urllib.parse import urlencode

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from bench import data as benchmark_data
from blog import search
from blog.models import Post

QUERIES = [
    "compare_exchange",
    "asyncio.to_thread",
    '"model checking"',
    "rust -atomic",
    "queue or backpressure",
    "the",
]
PAGES = ["/search/?q=latency", "/feed/", "/feed.json", "/sitemap.xml"]


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Measure search, feed and sitemap pages over N published posts, topped up with copies "
        "of the demo posts: median milliseconds and SQL queries per page. Runs inside a "
        "transaction that is rolled back, so it leaves nothing behind."
    )

    def add_arguments(self, parser):
        parser.add_argument("--posts", type=int, default=5000)
        parser.add_argument("--repeat", type=int, default=7)

    def handle(self, *args, posts, repeat, **options):
        try:
            with transaction.atomic():
                benchmark_data.make_posts(max(0, posts - Post.objects.published().count()))
                if search.uses_full_text_search(connection):
                    with connection.cursor() as cursor:
                        cursor.execute("ANALYZE blog_post")
                total = Post.objects.published().count()
                self.stdout.write(f"{total} published posts on {connection.vendor}")
                self._measure(repeat)
                raise Rollback
        except Rollback:
            pass

    @override_settings(
        ALLOWED_HOSTS=["testserver"], SEARCHES_PER_IP_PER_MINUTE=10**9, PAGE_CACHE_SECONDS=0
    )
    def _measure(self, repeat):
        client = Client()
        rows = [(f"/search/?{urlencode({'q': query})}", query) for query in QUERIES]
        rows += [(path, path) for path in PAGES]
        self.stdout.write(f"{'page':<36} {'median ms':>10} {'queries':>8} {'results':>8}")
        for path, label in rows:
            timings = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise CommandError(f"{path} answered {response.status_code}")
            results = "-"
            if label in QUERIES:
                query = search.clean_query(label)
                results = search.find_posts(Post.objects.published(), query, connection).count()
            self.stdout.write(
                f"{label[:36]:<36} {statistics.median(timings):>10.1f} "
                f"{len(queries):>8} {results!s:>8}"
            )
        if search.uses_full_text_search(connection):
            self._show_plan()

    def _show_plan(self):
        matches = search.find_posts(Post.objects.published(), "compare_exchange", connection)
        plan = matches.explain()
        self.stdout.write(plan)
        index = "uses" if "post_search_idx" in plan else "does NOT use"
        self.stdout.write(f"The search query {index} the GIN index post_search_idx.")
