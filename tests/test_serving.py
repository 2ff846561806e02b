"""The blog as production runs it: the committed gunicorn.conf.py, real workers, real HTTP."""

import base64
import gzip
import hashlib
import json
import os
import re
import runpy
import signal
import subprocess
import sys
import time
import types

import brotli
import pytest
from django.conf import settings
from django.db import connection
from gunicorn.config import Config

from blog.models import Post, Tag
from tests.web_server import PROJECT_DIR, WORKERS, Gunicorn, database_url


@pytest.fixture(scope="module")
def served_database_url(django_db_setup, tmp_path_factory):
    """A migrated database gunicorn can open: the test database, or on SQLite (where that one is
    in memory) a file of its own."""
    if connection.vendor == "postgresql":
        return database_url(connection.settings_dict)
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'db.sqlite3'}"
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SECRET_KEY": "migrate", "DATABASE_URL": url},
        check=True,
    )
    return url


@pytest.fixture(scope="module")
def production_server(tmp_path_factory, served_database_url, static_root):
    server = Gunicorn(
        tmp_path_factory.mktemp("production"),
        {
            "DATABASE_URL": served_database_url,
            "CACHE_DIR": str(tmp_path_factory.mktemp("production-cache")),
            "DJANGO_STATIC_ROOT": str(static_root),
            "DJANGO_HTTPS_ONLY": "true",
            "DJANGO_BEHIND_PROXY": "true",
        },
    )
    yield server
    server.stop()


HTTPS = {"X-Forwarded-Proto": "https"}


# /healthz


@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_answers_ok_over_plain_http_to_any_host(production_server, path):
    response = production_server.get(path, headers={"Host": "not-allowed.example"})
    assert (response.status, response.text) == (200, "ok\n")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Location" not in response.headers


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path, static_root):
    if connection.vendor == "postgresql":
        unreachable = "postgres://postgres@127.0.0.1:1/nothing"
    else:
        unreachable = f"sqlite:///{tmp_path / 'no-such-directory' / 'db.sqlite3'}"
    server = Gunicorn(
        tmp_path,
        {
            "DATABASE_URL": unreachable,
            "CACHE_DIR": str(tmp_path / "cache"),
            "DJANGO_STATIC_ROOT": str(static_root),
            "DJANGO_HTTPS_ONLY": "true",
        },
    )
    try:
        response = server.get("/healthz", headers={"Host": "not-allowed.example"})
    finally:
        server.stop()
    assert (response.status, response.text) == (503, "database unreachable\n")
    assert response.headers["Cache-Control"] == "no-store"


# Static files


def test_pages_link_the_hashed_stylesheet(production_server, static_root):
    hashed = json.loads((static_root / "staticfiles.json").read_text())["paths"]["css/site.css"]
    assert re.fullmatch(r"css/site\.[0-9a-f]{12}\.css", hashed)
    assert f'href="/static/{hashed}"' in production_server.get("/", headers=HTTPS).text


@pytest.mark.parametrize(
    ("accept_encoding", "encoding", "decompress"),
    [("gzip, deflate, br", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress)],
)
def test_hashed_stylesheet_is_served_compressed_and_cached_forever(
    production_server, static_root, accept_encoding, encoding, decompress
):
    hashed = json.loads((static_root / "staticfiles.json").read_text())["paths"]["css/site.css"]
    response = production_server.get(
        f"/static/{hashed}", headers={**HTTPS, "Accept-Encoding": accept_encoding}
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    cache_control = {part.strip() for part in response.headers["Cache-Control"].split(",")}
    assert {"max-age=315360000", "immutable"} <= cache_control
    assert decompress(response.body) == (PROJECT_DIR / "static" / "css" / "site.css").read_bytes()


def test_unhashed_stylesheet_is_served_with_a_short_max_age(production_server):
    response = production_server.get("/static/css/site.css", headers=HTTPS)
    assert response.status == 200
    assert response.body == (PROJECT_DIR / "static" / "css" / "site.css").read_bytes()
    assert response.headers["Cache-Control"] == "max-age=60, public"


# gunicorn.conf.py


def load_gunicorn_conf(monkeypatch, **env):
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(PROJECT_DIR / "gunicorn.conf.py"))


@pytest.mark.parametrize("web_concurrency", [None, ""])
def test_gunicorn_defaults_to_localhost_8000_and_one_worker_per_cpu(monkeypatch, web_concurrency):
    env = {} if web_concurrency is None else {"WEB_CONCURRENCY": web_concurrency}
    conf = load_gunicorn_conf(monkeypatch, **env)
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == max(2, len(os.sched_getaffinity(0)))


def test_gunicorn_reads_address_workers_and_timeout_from_the_environment(monkeypatch):
    conf = load_gunicorn_conf(
        monkeypatch, HOST="192.0.2.10", PORT="9000", WEB_CONCURRENCY="5", GUNICORN_TIMEOUT="60"
    )
    assert conf["bind"] == ["192.0.2.10:9000"]
    assert conf["workers"] == 5
    assert conf["timeout"] == 60


def test_gunicorn_conf_names_only_real_settings(monkeypatch):
    # gunicorn skips names it does not know without a word, so a typo would go unnoticed.
    conf = load_gunicorn_conf(monkeypatch)
    names = {
        name
        for name, value in conf.items()
        if not name.startswith("__") and not isinstance(value, types.ModuleType)
    }
    assert names - set(Config().settings) == set()


def test_access_log_goes_to_stdout(production_server):
    production_server.get("/healthz")
    deadline = time.monotonic() + 5
    while '"GET /healthz HTTP/1.1" 200' not in production_server.access_log():
        assert time.monotonic() < deadline, production_server.access_log()
        time.sleep(0.05)
    assert "GET /healthz" not in production_server.errors()


@pytest.mark.parametrize("path", ["/", "/search/?q=queue", "/newsletter/", "/no-such-page/"])
def test_head_gets_the_headers_of_get_and_no_body(production_server, path):
    headers = {**HTTPS, "Accept-Encoding": "br, gzip"}
    get = production_server.get(path, headers=headers)
    head = production_server.get(path, headers=headers, method="HEAD")
    assert head.status == get.status
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(get.body))
    assert head.headers.get("Content-Encoding") == get.headers.get("Content-Encoding")
    assert "no-body response" not in production_server.errors()


def test_gunicorn_logs_its_own_messages_to_stderr(production_server):
    assert f"Listening at: http://127.0.0.1:{production_server.port}" in production_server.errors()


# Security headers


def test_pages_carry_the_security_headers_behind_an_https_proxy(production_server):
    response = production_server.get("/", headers=HTTPS)
    assert response.status == 200
    csp = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["frame-ancestors"] == "'none'"
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_every_inline_script_on_a_page_is_allowed_by_the_policy(production_server):
    response = production_server.get("/", headers=HTTPS)
    script_src = re.search(r"script-src ([^;]*)", response.headers["Content-Security-Policy"])
    inline_scripts = [
        content
        for attributes, content in re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S)
        if "src=" not in attributes and "application/ld+json" not in attributes
    ]
    assert inline_scripts
    for content in inline_scripts:
        digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src.group(1).split()


def test_plain_http_is_redirected_to_https(production_server):
    response = production_server.get("/")
    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1:{production_server.port}/"


# Page cache across workers (PostgreSQL: the test database must be one gunicorn can open)


@pytest.fixture(scope="module")
def page_cache_server(tmp_path_factory, django_db_setup, test_cache_directory, static_root):
    """Serves the test database with the test process's cache, so its invalidations reach it."""
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn needs a database it can share with the tests")
    server = Gunicorn(
        tmp_path_factory.mktemp("page-cache"),
        {
            "DATABASE_URL": database_url(connection.settings_dict),
            "CACHE_DIR": settings.CACHES["default"]["LOCATION"],
            "DJANGO_STATIC_ROOT": str(static_root),
        },
        # The pid tells which worker answered; ?r=<token> (a parameter the cache ignores) which
        # request it answered.
        extra_arguments=["--access-logformat", "%(p)s %(r)s"],
    )
    yield server
    server.stop()


def pages(server, path):
    """The text of each worker's answer for `path`, once all were 200."""
    responses = server.get_from_every_worker(path)
    assert {response.status for response in responses} == {200}
    return [response.text for response in responses]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_worker_serves_pages_from_the_cache(page_cache_server, make_post):
    post = make_post(title="Cached original")
    first_round = page_cache_server.get_from_every_worker(post.get_absolute_url())
    with connection.cursor() as cursor:
        # Behind Django's back: no signal, no invalidation, so only a cached copy shows the old.
        cursor.execute(
            f"UPDATE {Post._meta.db_table} SET title = %s WHERE id = %s",  # noqa: S608
            ["Changed behind the cache", post.pk],
        )
    second_round = page_cache_server.get_from_every_worker(post.get_absolute_url())
    assert all("Cached original" in response.text for response in second_round)
    validators = {
        (response.headers["ETag"], response.headers["Last-Modified"])
        for response in first_round + second_round
    }
    assert len(validators) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_title_change_reaches_every_worker_at_once(page_cache_server, make_post):
    post = make_post(title="Old headline")
    make_post(title="Neighbour post")
    paths = ("/", post.get_absolute_url())
    for path in paths:
        assert all("Old headline" in page for page in pages(page_cache_server, path))
    post.title = "New headline"
    post.save()
    for path in paths:
        assert all(
            "New headline" in page and "Old headline" not in page
            for page in pages(page_cache_server, path)
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_tag_rename_reaches_every_worker_at_once(page_cache_server, make_post):
    tag = Tag.objects.create(name="Oldtagname", slug="queues")
    post = make_post(tags=[tag])
    paths = ("/", post.get_absolute_url(), tag.get_absolute_url(), "/tags/")
    for path in paths:
        assert all("Oldtagname" in page for page in pages(page_cache_server, path))
    tag.name = "Renamedtag"
    tag.save()
    for path in paths:
        assert all(
            "Renamedtag" in page and "Oldtagname" not in page
            for page in pages(page_cache_server, path)
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_unpublishing_reaches_every_worker_at_once(page_cache_server, make_post):
    post = make_post(title="Soon withdrawn")
    make_post(title="Stays published")
    assert all("Soon withdrawn" in page for page in pages(page_cache_server, "/"))
    pages(page_cache_server, post.get_absolute_url())
    post.status = Post.Status.DRAFT
    post.save()
    assert all(
        "Stays published" in page and "Soon withdrawn" not in page
        for page in pages(page_cache_server, "/")
    )
    responses = page_cache_server.get_from_every_worker(post.get_absolute_url())
    assert {response.status for response in responses} == {404}


# Last: it replaces the workers of the shared production server.


def test_sighup_replaces_the_workers_without_dropping_a_request(production_server):
    old_workers = production_server.worker_pids()
    assert len(old_workers) == WORKERS
    production_server.process.send_signal(signal.SIGHUP)
    statuses = []
    deadline = time.monotonic() + 15
    replaced_at = None
    # Keep asking through the reload and for a while after the old workers are gone.
    while replaced_at is None or len(statuses) < replaced_at + 20:
        assert time.monotonic() < deadline, production_server.errors()
        statuses.append(production_server.get("/", headers=HTTPS).status)
        workers = production_server.worker_pids()
        if replaced_at is None and len(workers) == WORKERS and not workers & old_workers:
            replaced_at = len(statuses)
    assert set(statuses) == {200}
    assert production_server.process.poll() is None
