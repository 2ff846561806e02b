import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from blog.models import Post, Series, Tag
from newsletter.models import Subscriber
from tests.mail_servers import SMTPServer
from tests.web_server import PROJECT_DIR

pytest_plugins = ["tests.s3_server"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests log users in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # The manifest storage needs `collectstatic`; tests don't serve static files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def author(db):
    return get_user_model().objects.create_user(
        username="ada", password="correct-horse-battery", is_staff=True
    )


@pytest.fixture
def staff_client(client, author):
    client.force_login(author)
    return client


@pytest.fixture
def make_post(author):
    counter = iter(range(1, 10_000))

    def make_post(*, status=Post.Status.PUBLISHED, published_at=None, tags=(), **fields):
        number = next(counter)
        if published_at is None and status == Post.Status.PUBLISHED:
            published_at = timezone.now() - timedelta(days=number)
        post = Post.objects.create(
            title=fields.pop("title", f"Post number {number}"),
            slug=fields.pop("slug", f"post-number-{number}"),
            summary=fields.pop("summary", f"Summary of post {number}."),
            body=fields.pop("body", f"Body of post {number}.\n\n## A section\n\nMore words."),
            status=status,
            published_at=published_at,
            author=author,
            **fields,
        )
        post.tags.set(tags)
        return post

    return make_post


@pytest.fixture(scope="module")
def demo_content(django_db_setup, django_db_blocker):
    """The demo posts, loaded once for a module of tests that only read them.

    Loaded in a transaction rolled back after the module's last test (each test's own
    transaction nests inside it), so no other module sees them. Every test of the module that
    runs after the first user sees them too: give such tests a module of their own.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", verbosity=0)
        with django_db_blocker.block():  # tests ask for the database as usual
            yield
        transaction.set_rollback(True)


@pytest.fixture
def tag(db):
    return Tag.objects.create(name="Concurrency", slug="concurrency")


@pytest.fixture
def series(db):
    return Series.objects.create(title="Model checking", slug="model-checking")


@pytest.fixture(scope="session", autouse=True)
def test_cache_directory(tmp_path_factory):
    """The suite's own cache files, never the ones `make run` serves from."""
    directory = tmp_path_factory.mktemp("cache")
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(directory),
        },
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
    }
    with override_settings(CACHES=caches):
        yield directory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test's uploads in a folder of its own, never in the one `make run` serves."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    # Most tests look at what views render. Page caching commits for real to invalidate, so its
    # tests (test_page_cache.py) turn it on with transactional databases.
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def empty_cache():
    # Each test starts with no cached pages.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def run_tasks(db, monkeypatch):
    """Run every queued task to the end with the real django-tasks-db worker, in this process."""
    # The worker drops connections that are inside a transaction, as every test's connection is.
    monkeypatch.setattr(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    )

    def run_tasks():
        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)

    return run_tasks


@pytest.fixture
def make_subscriber(db):
    def make_subscriber(email, status=Subscriber.Status.CONFIRMED, **fields):
        now = timezone.now()
        return Subscriber.objects.create(
            email=email,
            status=status,
            consent_at=fields.pop("consent_at", now),
            consent_page=fields.pop("consent_page", "/"),
            consent_wording=fields.pop("consent_wording", "Subscribe to newsletter"),
            confirmed_at=now if status == Subscriber.Status.CONFIRMED else None,
            **fields,
        )

    return make_subscriber


@pytest.fixture
def link_in():
    def link_in(message, name):
        """The site path of the first `name` link ("confirm", "unsubscribe") in an email's text."""
        match = re.search(rf"https?://[^/\s]+(/newsletter/{name}/[^\s]+/)", message.body)
        assert match, f"no {name} link in: {message.body}"
        return match.group(1)

    return link_in


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    """collectstatic's output, as a deploy leaves it: hashed names, .gz and .br beside them."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(  # noqa: S603
        # The admin's files would take seconds to compress with brotli, and no test reads them.
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0", "--ignore", "admin"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SECRET_KEY": "collect", "DJANGO_STATIC_ROOT": str(root)},
        check=True,
    )
    return root


@pytest.fixture(params=["file cache", "redis"])
def any_cache(request, tmp_path):
    """The default file cache, then Redis: for rules that must hold the same on both."""
    default = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path),
    }
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        # A database index of each test process's own (15, 14, … under pytest-xdist).
        worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
        location = f"redis://127.0.0.1:6379/{15 - worker}"
        try:
            redis.Redis.from_url(location).ping()
        except redis.RedisError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        default = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"}
    with override_settings(CACHES={"default": default, "local": local}):
        yield request.param


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback that the site sends through, unthrottled; yields its
    handler, which holds the messages received."""
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.NEWSLETTER_SEND_RATE = 0
        settings.NEWSLETTER_RETRY_DELAY = 0
        yield server.handler


@pytest.fixture
def post_by(make_post):
    """A post by the user with this username (made when there is none)."""

    def post_by(username, **fields):
        user, _ = get_user_model().objects.get_or_create(username=username)
        post = make_post(**fields)
        Post.objects.filter(pk=post.pk).update(author=user)
        post.refresh_from_db()
        return post

    return post_by
