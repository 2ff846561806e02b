"""One gunicorn and one Chromium for the whole end-to-end suite, over the demo posts.

The site is served as production serves it: gunicorn with the committed gunicorn.conf.py, the
collected static files, the page cache on, and the task queue run by `manage.py db_worker` in a
process of its own. Email goes through a real SMTP server on loopback that the tests read.

The content is committed, so gunicorn's workers see it: on PostgreSQL into the test database,
flushed again after the last end-to-end test; on SQLite (whose test database lives in memory)
into a migrated file that the tests' own connection is pointed at meanwhile.
"""

import email
import email.policy
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.test.utils import setup_databases, teardown_databases
from django.utils import timezone

from blog.images import add_image
from blog.models import Post, Tag
from newsletter.models import Subscriber
from newsletter.tokens import make_manage_token
from tests import image_files
from tests.chromium import launched_chromium
from tests.mail_servers import SMTPServer
from tests.web_server import PROJECT_DIR, Gunicorn, database_url

AUTHOR_USERNAME = "grace"
AUTHOR_PASSWORD = "a-long-passphrase-for-e2e"  # noqa: S105
READER_EMAIL = "standing.reader@example.com"

# The post with code, a table and an image that the accessibility and screenshot runs open.
IMAGE_POST_SLUG = "queues-in-pictures"
IMAGE_POST_BODY = """\
Queues fill up when producers outrun consumers. This post shows one filling.

## The code

```python
def enqueue(queue, item):
    if len(queue) >= queue.limit:
        raise QueueFull(item)
    queue.append(item)
```

## The numbers

| Producers | Consumers | Depth after a minute |
| --- | ---: | ---: |
| 1 | 1 | 0 |
| 4 | 1 | 1,800 |

![{alt}]({url})

The chart shows the depth over a day.
"""


@dataclass
class Site:
    url: str
    env: dict
    server: Gunicorn
    mail: object  # the SMTP server's RecordingHandler
    directory: Path
    manage_token: str
    image_post: Post

    def run_tasks(self):
        """Every queued task to the end, by the real worker in a process of its own."""
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "-v0"],
            cwd=PROJECT_DIR,
            env=self.env,
            check=True,
            timeout=120,
        )

    def emails_to(self, address):
        """The messages the SMTP server received for `address`, oldest first, parsed."""
        return [
            email.message_from_bytes(raw, policy=email.policy.default)
            for recipient, raw in list(self.mail.received)
            if recipient.lower() == address.lower()
        ]

    @staticmethod
    def text_of(message):
        return message.get_body(preferencelist=("plain",)).get_content()

    @classmethod
    def link_in(cls, message, name):
        """The site path of the first `/newsletter/<name>/…/` link in an email's text."""
        match = re.search(rf"https?://[^/\s]+(/newsletter/{name}/[^\s]+/)", cls.text_of(message))
        assert match, f"no {name} link in: {cls.text_of(message)}"
        return match.group(1)


def served_database(test_database, tmp_path):
    """(DATABASE_URL for gunicorn, the connection for the tests to reach the same database)."""
    if test_database.vendor == "postgresql":
        return database_url(test_database.settings_dict), test_database
    # The in-memory test database, copied to a file gunicorn can open: faster than migrating one.
    path = tmp_path / "db.sqlite3"
    test_database.ensure_connection()
    with closing(sqlite3.connect(path)) as copy:
        test_database.connection.backup(copy)
    served = test_database.__class__({**test_database.settings_dict, "NAME": str(path)}, "default")
    return f"sqlite:///{path}", served


def start_collecting_static(root):
    """collectstatic with the admin's files, as a deploy runs it, in the background: it takes
    seconds, spent while the content loads."""
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SECRET_KEY": "collect", "DJANGO_STATIC_ROOT": str(root)},
    )


def load_content(media_root):
    """The demo posts, a post with an image, an author who signs in, a confirmed reader."""
    call_command("load_demo", verbosity=0)
    author = get_user_model().objects.create(
        username=AUTHOR_USERNAME,
        email="grace@example.com",
        first_name="Grace",
        last_name="Hopper",
        # The tests hash passwords with MD5 for speed; gunicorn knows only the real hashers.
        password=make_password(AUTHOR_PASSWORD, hasher="pbkdf2_sha256"),
        is_staff=True,
        is_superuser=True,
    )
    with override_settings(MEDIA_ROOT=str(media_root)):
        image, _ = add_image(
            ContentFile(image_files.jpeg(width=1200, height=600), name="queue-depth.jpg"),
            user=author,
            alt_text="A chart of queue depth rising through the day",
            caption="Queue depth over a day",
        )
        post = Post.objects.create(
            title="Queues in pictures",
            slug=IMAGE_POST_SLUG,
            summary="A queue filling up, in code, a table and a chart.",
            body=IMAGE_POST_BODY.format(alt="A chart of queue depth", url=image.url),
            status=Post.Status.PUBLISHED,
            published_at=timezone.now() - timedelta(hours=1),
            author=author,
        )
        post.tags.set(Tag.objects.order_by("name")[:2])
    reader = Subscriber.objects.create(
        email=READER_EMAIL,
        status=Subscriber.Status.CONFIRMED,
        consent_at=timezone.now(),
        consent_page="/",
        consent_wording="Subscribe to newsletter",
        confirmed_at=timezone.now(),
    )
    return make_manage_token(reader), post


@pytest.fixture(scope="package")
def test_database(django_db_setup, django_db_blocker):
    """The connection to the test database, taken before Playwright starts: the tests run in a
    context of Playwright's, where Django's connections start anew from the settings."""
    with django_db_blocker.unblock():
        test_database = connections["default"]
        created = None
        # pytest-django makes the test database only for a run with tests marked for the
        # database; these are not (their data outlives a test), so alone they make their own.
        if test_database.settings_dict["NAME"] != test_database.creation._get_test_db_name():
            created = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        yield test_database
        if created:
            teardown_databases(created, verbosity=0)


@pytest.fixture(scope="package")
def browser(test_database):
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="package")
def site(test_database, browser, django_db_blocker, tmp_path_factory):
    directory = tmp_path_factory.mktemp("e2e")
    (directory / "server").mkdir()
    static_root, media_root = directory / "static", directory / "media"
    collecting = start_collecting_static(static_root)
    with django_db_blocker.unblock():
        served_url, served = served_database(test_database, directory)
        # Set here, in Playwright's context, for the tests that run in it.
        previous, connections["default"] = connections["default"], served
        try:
            manage_token, image_post = load_content(media_root)
            assert collecting.wait(timeout=120) == 0, "collectstatic failed"
            with SMTPServer() as smtp:
                env = {
                    "DATABASE_URL": served_url,
                    "CACHE_DIR": str(directory / "cache"),
                    "MEDIA_ROOT": str(media_root),
                    "DJANGO_STATIC_ROOT": str(static_root),
                    "DJANGO_SECRET_KEY": settings.SECRET_KEY,
                    "EMAIL_HOST": "127.0.0.1",
                    "EMAIL_PORT": str(smtp.port),
                    "NEWSLETTER_SEND_RATE": "0",
                    "NEWSLETTER_RETRY_DELAY": "0",
                    # One browser makes every request from one address, many times over.
                    "SEARCHES_PER_IP_PER_MINUTE": "10000",
                    "NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR": "10000",
                    "NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY": "10000",
                    "LOGIN_FAILURE_LIMIT": "10000",
                }
                server = Gunicorn(directory / "server", env)
                url = f"http://127.0.0.1:{server.port}"
                # The worker sends what gunicorn queued: the same settings but for its own
                # process's environment.
                worker_env = {**os.environ, **env, "SITE_URL": url}
                try:
                    yield Site(
                        url=url,
                        env=worker_env,
                        server=server,
                        mail=smtp.handler,
                        directory=directory,
                        manage_token=manage_token,
                        image_post=image_post,
                    )
                finally:
                    server.stop()
        finally:
            if served is test_database:
                # Leave the test database as empty as the other tests expect it.
                call_command("flush", interactive=False, verbosity=0)
                ContentType.objects.clear_cache()
            else:
                served.close()
            connections["default"] = previous


@pytest.fixture(autouse=True)
def database_reachable(django_db_blocker):
    """The tests read and write the served database directly, outside pytest-django's
    per-test transactions: what they commit is what gunicorn sees."""
    with django_db_blocker.unblock():
        yield
