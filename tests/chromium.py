"""Debian's Chromium driven by Playwright; Playwright never downloads a browser of its own."""

import os
import shutil
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# CI runs the suite twice, on PostgreSQL and then on SQLite; pages look and behave the same in a
# browser on either, so its second run sets BROWSER_TESTS=skip and leaves them to the first.
if os.environ.get("BROWSER_TESTS") == "skip":
    needs_chromium = pytest.mark.skip(
        reason="BROWSER_TESTS=skip: this run leaves the browser tests to another (CI runs them "
        "on PostgreSQL)"
    )
else:
    needs_chromium = pytest.mark.skipif(
        shutil.which("chromium") is None,
        reason="needs Debian's chromium (apt-get install chromium)",
    )

# The admin editor's browser suites drive gunicorn and a browser per test: minutes of a CI run.
# What they prove is the editor's script and pages, the same on either database, so they run
# once, on PostgreSQL; on SQLite the endpoints they call are tested through the test client.
on_postgresql_only = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="the editor's browser tests run on PostgreSQL (DATABASE_URL=postgres://…)",
)


@contextmanager
def launched_chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
            # Inside Playwright's event loop the ORM keeps a connection of its own; close it too.
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
