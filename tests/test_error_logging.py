"""What an unhandled exception leaves behind under gunicorn: the 500 page, a logged traceback,
and with SENTRY_DSN set, a report to Sentry."""

import gzip
import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli
import pytest

from tests.web_server import PROJECT_DIR, Gunicorn


def failing_server(directory, static_root, **env):
    """gunicorn serving the site plus /boom/, which raises RuntimeError("deliberate failure")."""
    return Gunicorn(
        directory,
        {
            "DJANGO_SETTINGS_MODULE": "tests.failing_settings",
            "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
            "CACHE_DIR": str(directory / "cache"),
            "DJANGO_STATIC_ROOT": str(static_root),
            # The database is never migrated; the page cache would ask it for scheduled posts.
            "PAGE_CACHE_SECONDS": "0",
            **env,
        },
    )


def wait_for(condition, what):
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within 10 s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory, static_root):
    server = failing_server(tmp_path_factory.mktemp("failing"), static_root)
    yield server
    server.stop()


def test_unhandled_exception_answers_the_500_page(server):
    response = server.get("/boom/")
    assert response.status == 500
    assert "Something went wrong" in response.text
    assert 'class="site-header"' in response.text


def test_unhandled_exception_is_logged_with_traceback_method_and_path(server):
    server.get("/boom/")
    wait_for(lambda: "deliberate failure" in server.stderr_path.read_text(), "logged error")
    log = server.stderr_path.read_text()
    assert re.search(
        r"^\S+ \S+ ERROR django\.request: Internal Server Error: /boom/ \(GET\)\n"
        r"Traceback \(most recent call last\):\n(.*\n)*?RuntimeError: deliberate failure$",
        log,
        re.MULTILINE,
    )


def test_sentry_is_off_without_sentry_dsn():
    env = {name: value for name, value in os.environ.items() if not name.startswith("SENTRY_")}
    check = "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", check],
        cwd=PROJECT_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


class SentryIngest(BaseHTTPRequestHandler):
    """Sentry's ingest endpoint, as far as the SDK needs: keeps every envelope's payloads."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        decompress = {"gzip": gzip.decompress, "br": brotli.decompress}.get(
            self.headers.get("Content-Encoding"), bytes
        )
        for line in decompress(body).decode().splitlines():
            self.server.payloads.append(json.loads(line))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def sentry_ingest():
    ingest = ThreadingHTTPServer(("127.0.0.1", 0), SentryIngest)
    ingest.payloads = []
    thread = threading.Thread(target=ingest.serve_forever, daemon=True)
    thread.start()
    yield ingest
    ingest.shutdown()
    ingest.server_close()


def test_unhandled_exception_is_reported_to_sentry_without_cookies(
    tmp_path, static_root, sentry_ingest
):
    server = failing_server(
        tmp_path,
        static_root,
        SENTRY_DSN=f"http://publickey@127.0.0.1:{sentry_ingest.server_port}/1",
        SENTRY_ENVIRONMENT="test-suite",
    )
    try:
        response = server.get("/boom/", headers={"Cookie": "sessionid=secret-cookie-value"})

        def events():
            return [payload for payload in sentry_ingest.payloads if "exception" in payload]

        wait_for(events, "Sentry event")
    finally:
        server.stop()
    assert response.status == 500
    (event,) = events()
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "deliberate failure")
    assert event["environment"] == "test-suite"
    assert event["request"]["url"].endswith("/boom/")
    assert "secret-cookie-value" not in json.dumps(sentry_ingest.payloads)
    assert not any(payload.get("type") == "transaction" for payload in sentry_ingest.payloads)
