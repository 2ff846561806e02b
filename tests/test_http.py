"""HTTP details every page gets right: its encoding, HEAD, Cache-Control and browser policies.

Cached pages are checked three ways: on a miss (the page cache makes and keeps its copies), on a
hit (no SQL: the copy it kept) and with the page cache off (CompressionMiddleware does the work).
Pages the cache never keeps are compressed by the middleware alone.
"""

import gzip

import brotli
import pytest
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.compression import MIN_COMPRESSED_LENGTH, CompressionMiddleware
from newsletter.models import Subscriber
from newsletter.tokens import make_confirm_token, make_unsubscribe_token
from tests.test_settings import production_environment, run_with_environment, settings_values

POST_URL = "/posts/hello-world/"
CACHED_PAGES = [
    pytest.param("/", id="listing"),
    pytest.param(POST_URL, id="post"),
    pytest.param("/tags/concurrency/", id="tag"),
    pytest.param("/tags/", id="tag-list"),
    pytest.param("/series/model-checking/", id="series"),
    pytest.param("/series/", id="series-list"),
    pytest.param("/feed/", id="atom"),
    pytest.param("/rss/", id="rss"),
    pytest.param("/feed.json", id="json-feed"),
    pytest.param("/sitemap.xml", id="sitemap"),
]
UNCACHED_PAGES = [
    pytest.param("/search/?q=hello", 200, id="search"),
    pytest.param("/newsletter/", 200, id="subscribe"),
    pytest.param("/newsletter/check-your-inbox/", 200, id="check-your-inbox"),
    pytest.param("/no-such-page/", 404, id="unknown-address"),
    pytest.param("/posts/no-such-post/", 404, id="no-such-post"),
]
# (Accept-Encoding, the encoding the page must come in; None for identity)
NEGOTIATION = [
    pytest.param("br, gzip", "br", id="br-and-gzip"),
    pytest.param("gzip, deflate, br, zstd", "br", id="as-browsers-send"),
    pytest.param("gzip", "gzip", id="gzip"),
    pytest.param("br;q=0, gzip", "gzip", id="br-refused"),
    pytest.param("gzip;q=0", None, id="gzip-refused"),
    pytest.param("*;q=0", None, id="everything-refused"),
    pytest.param("", None, id="empty"),
    pytest.param(None, None, id="no-header"),
    pytest.param("gzip;q=0.5, br;q=0.8", "br", id="br-weighed-higher"),
    pytest.param("gzip;q=1, br;q=0.5", "gzip", id="gzip-weighed-higher"),
    pytest.param("*", "br", id="anything"),
    pytest.param("br;q=0, *", "gzip", id="anything-but-br"),
    pytest.param("GZIP ; Q=0.9", "gzip", id="capitals-and-spaces"),
    pytest.param("identity;q=1, gzip;q=0.5", None, id="identity-weighed-higher"),
    pytest.param("deflate", None, id="only-deflate"),
]
DECODE = {None: lambda content: content, "br": brotli.decompress, "gzip": gzip.decompress}


@pytest.fixture
def page_cache(db, settings):
    settings.PAGE_CACHE_SECONDS = 600
    caches["local"].clear()
    yield
    caches["local"].clear()


@pytest.fixture
def post(make_post, tag, series):
    return make_post(
        title="Hello world", slug="hello-world", tags=[tag], series=series, series_part=1
    )


@pytest.fixture
def subscriber(make_subscriber):
    return make_subscriber("ada@example.com", status=Subscriber.Status.PENDING)


def get(client, path, accept_encoding=None):
    headers = {} if accept_encoding is None else {"Accept-Encoding": accept_encoding}
    return client.get(path, headers=headers)


def get_counting_queries(client, path, accept_encoding=None):
    with CaptureQueriesContext(connection) as queries:
        response = get(client, path, accept_encoding)
    return response, len(queries)


def header_set(response, name):
    return {part.strip().lower() for part in response.get(name, "").split(",") if part.strip()}


def assert_sent_as(response, encoding, plain):
    """`response` is `plain` in `encoding`, with the headers that go with it."""
    assert response.get("Content-Encoding") == encoding
    assert DECODE[encoding](response.content) == plain.content
    assert int(response["Content-Length"]) == len(response.content)
    assert "accept-encoding" in header_set(response, "Vary")
    if encoding and plain.has_header("ETag"):
        assert response["ETag"] == f"W/{plain['ETag']}"


# Encodings: cached pages


@pytest.mark.parametrize("path", CACHED_PAGES)
@pytest.mark.parametrize(("accept_encoding", "encoding"), NEGOTIATION)
def test_cached_page_comes_in_the_preferred_encoding_on_a_miss(
    post, page_cache, client, path, accept_encoding, encoding
):
    response, queries = get_counting_queries(client, path, accept_encoding)
    assert response.status_code == 200
    assert queries > 0
    assert_sent_as(response, encoding, plain=get(client, path))


@pytest.mark.parametrize("path", CACHED_PAGES)
@pytest.mark.parametrize(("accept_encoding", "encoding"), NEGOTIATION)
def test_cached_page_comes_in_the_preferred_encoding_on_a_hit(
    post, page_cache, client, django_assert_num_queries, path, accept_encoding, encoding
):
    plain = get(client, path)
    with django_assert_num_queries(0):
        response = get(client, path, accept_encoding)
    assert response.status_code == 200
    assert_sent_as(response, encoding, plain)


@pytest.mark.parametrize("path", CACHED_PAGES)
@pytest.mark.parametrize(("accept_encoding", "encoding"), NEGOTIATION)
def test_public_page_comes_in_the_preferred_encoding_with_the_page_cache_off(
    post, client, path, accept_encoding, encoding
):
    response = get(client, path, accept_encoding)
    assert response.status_code == 200
    assert_sent_as(response, encoding, plain=get(client, path))


def test_a_page_first_asked_for_as_brotli_is_kept_whole_for_every_reader(
    post, page_cache, client, django_assert_num_queries
):
    first = get(client, "/", "br")
    with django_assert_num_queries(0):
        plain = get(client, "/")
        gzipped = get(client, "/", "gzip")
    assert first["Content-Encoding"] == "br"
    assert not plain.has_header("Content-Encoding")
    assert brotli.decompress(first.content) == plain.content
    assert gzip.decompress(gzipped.content) == plain.content


def test_cached_brotli_copy_revalidates_with_its_weak_etag(
    post, page_cache, client, django_assert_num_queries
):
    etag = get(client, POST_URL, "br")["ETag"]
    with django_assert_num_queries(0):
        response = client.get(POST_URL, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert etag.startswith("W/")
    assert response.status_code == 304


# Encodings: pages the cache never keeps


@pytest.mark.parametrize(("path", "status"), UNCACHED_PAGES)
@pytest.mark.parametrize(("accept_encoding", "encoding"), NEGOTIATION)
def test_uncached_page_comes_in_the_preferred_encoding(
    post, page_cache, client, path, status, accept_encoding, encoding
):
    response = get(client, path, accept_encoding)
    assert response.status_code == status
    assert_sent_as(response, encoding, plain=get(client, path))


def test_uncached_brotli_page_revalidates_with_its_weak_etag(post, page_cache, client):
    etag = get(client, "/search/?q=hello", "br")["ETag"]
    response = client.get(
        "/search/?q=hello", headers={"Accept-Encoding": "br", "If-None-Match": etag}
    )
    assert etag.startswith("W/")
    assert response.status_code == 304


def test_gzipped_uncached_pages_vary_in_length_against_breach(post, page_cache, client):
    # Heal The Breach: a random pad, so lengths tell an attacker nothing about the content.
    lengths = {len(get(client, "/search/?q=hello", "gzip").content) for _ in range(20)}
    assert len(lengths) > 1


@pytest.mark.parametrize("accept_encoding", ["br, gzip", "br"])
def test_page_with_a_csrf_token_is_never_sent_as_brotli(subscriber, client, accept_encoding):
    path = reverse("newsletter:confirm", args=[make_confirm_token(subscriber)])
    response = get(client, path, accept_encoding)
    assert b"csrfmiddlewaretoken" in DECODE[response.get("Content-Encoding")](response.content)
    assert response.get("Content-Encoding") == ("gzip" if "gzip" in accept_encoding else None)


def test_admin_pages_for_a_logged_in_author_are_never_sent_as_brotli(admin_client):
    response = get(admin_client, reverse("admin:index"), "br, gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"


@pytest.mark.parametrize("state", ["miss", "hit", "cache off"])
def test_a_response_too_short_to_gain_is_sent_plain(post, page_cache, client, settings, state):
    if state == "cache off":
        settings.PAGE_CACHE_SECONDS = 0
    plain = get(client, "/robots.txt")
    assert len(plain.content) < MIN_COMPRESSED_LENGTH
    if state == "miss":
        caches["local"].clear()
        caches["default"].clear()
    response = get(client, "/robots.txt", "br, gzip")
    assert not response.has_header("Content-Encoding")
    assert response.content == plain.content


@pytest.mark.parametrize(
    "accept_encoding",
    ["gzip;q=x", "br;q=1;a=b", "br;q=nan", "gzip;q=-1", "br;q=2", ",;=,", "br;q=", "x" * 5000],
)
def test_a_malformed_accept_encoding_still_gets_the_page(post, page_cache, client, accept_encoding):
    for path in ("/", "/search/?q=hello"):
        response = get(client, path, accept_encoding)
        assert response.status_code == 200
        assert "Hello world" in DECODE[response.get("Content-Encoding")](response.content).decode()


# What CompressionMiddleware does with responses the site's views don't make (yet)


def compressed_by_middleware(response, accept_encoding):
    middleware = CompressionMiddleware(lambda request: response)
    return middleware(RequestFactory().get("/", headers={"Accept-Encoding": accept_encoding}))


@pytest.mark.parametrize(("accept_encoding", "encoding"), [("br", "br"), ("gzip", "gzip")])
def test_a_streamed_response_is_compressed_as_it_streams(accept_encoding, encoding):
    chunks = [b"<p>A paragraph of text.</p>\n" * 20, b"<p>And another.</p>\n" * 20]
    response = compressed_by_middleware(
        StreamingHttpResponse(iter(chunks), content_type="text/html"), accept_encoding
    )
    assert response["Content-Encoding"] == encoding
    assert not response.has_header("Content-Length")
    assert DECODE[encoding](b"".join(response.streaming_content)) == b"".join(chunks)


def test_images_are_not_compressed_again():
    response = compressed_by_middleware(
        HttpResponse(b"\x89PNG" + bytes(1000), content_type="image/png"), "br, gzip"
    )
    assert not response.has_header("Content-Encoding")


def test_a_response_already_encoded_is_left_alone():
    body = brotli.compress(b"<p>Text.</p>" * 100)
    response = HttpResponse(body, content_type="text/html", headers={"Content-Encoding": "br"})
    assert compressed_by_middleware(response, "gzip").content == body


# HEAD


@pytest.mark.parametrize(
    "path",
    [
        *CACHED_PAGES,
        "/tags/concurrency/feed/",
        "/series/model-checking/feed/",
        "/sitemap-posts.xml",
        "/robots.txt",
        "/search/",
        "/search/?q=hello",
        "/newsletter/",
        "/newsletter/check-your-inbox/",
    ],
)
def test_every_get_view_answers_head_with_its_headers_and_no_body(post, page_cache, client, path):
    before = client.head(path)
    page = client.get(path)
    after = client.head(path)
    for head in (before, after):
        assert head.status_code == 200
        assert head.content == b""
        assert head["Content-Type"] == page["Content-Type"]
        assert head["Content-Length"] == page["Content-Length"]


@pytest.mark.parametrize(
    ("name", "make_token"),
    [
        ("newsletter:confirm", make_confirm_token),
        ("newsletter:unsubscribe", make_unsubscribe_token),
        ("newsletter:unsubscribe_one_click", make_unsubscribe_token),
    ],
)
def test_newsletter_link_pages_answer_head_and_change_nothing(subscriber, client, name, make_token):
    response = client.head(reverse(name, args=[make_token(subscriber)]))
    assert response.status_code == 200
    assert response.content == b""
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


# Cache-Control


@pytest.mark.parametrize("path", CACHED_PAGES)
def test_public_pages_may_be_kept_by_anyone_on_a_miss_and_a_hit(post, page_cache, client, path):
    for response in (client.get(path), client.get(path)):
        assert header_set(response, "Cache-Control") == {"public", "max-age=0", "s-maxage=60"}


@pytest.mark.parametrize(
    "path",
    ["/search/?q=hello", "/search/", "/newsletter/", "/newsletter/check-your-inbox/", "/no-such/"],
)
def test_pages_for_one_visitor_are_private_and_revalidated(post, page_cache, client, path):
    response = client.get(path)
    assert {"private", "no-cache"} <= header_set(response, "Cache-Control")
    assert "public" not in header_set(response, "Cache-Control")


def test_the_rate_limited_search_page_is_private_and_revalidated(post, client, settings):
    settings.SEARCHES_PER_IP_PER_MINUTE = 0
    response = client.get("/search/?q=hello")
    assert response.status_code == 429
    assert {"private", "no-cache"} <= header_set(response, "Cache-Control")


def test_the_subscribe_form_with_errors_is_private_and_revalidated(client, db):
    response = client.post("/newsletter/", {"email": "not an address"})
    assert response.status_code == 400
    assert {"private", "no-cache"} <= header_set(response, "Cache-Control")


def test_a_missing_post_is_never_stored(post, client):
    assert "no-store" in header_set(client.get("/posts/no-such-post/"), "Cache-Control")


@pytest.mark.parametrize(
    ("name", "make_token"),
    [
        ("newsletter:confirm", make_confirm_token),
        ("newsletter:unsubscribe", make_unsubscribe_token),
    ],
)
def test_pages_reached_with_a_token_are_never_stored(subscriber, client, name, make_token):
    response = client.get(reverse(name, args=[make_token(subscriber)]))
    assert response.status_code == 200
    assert {"private", "no-store"} <= header_set(response, "Cache-Control")


# Permissions-Policy


def permissions_policy(response):
    return dict(
        directive.strip().split("=", 1) for directive in response["Permissions-Policy"].split(",")
    )


@pytest.mark.parametrize(
    "path", ["/", POST_URL, "/feed/", "/search/?q=hello", "/no-such-page/", "/admin/login/"]
)
def test_pages_switch_off_browser_features_the_site_never_uses(post, page_cache, client, path):
    # Twice: a cached page's second answer is the copy the cache kept.
    for response in (client.get(path), client.get(path)):
        policy = permissions_policy(response)
        for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
            assert policy[feature] == "()"


# HSTS preload


def hsts_header(**env):
    """The Strict-Transport-Security header of an HTTPS request, with the production settings."""
    code = (
        "import django; django.setup(); from django.test import Client; "
        "print(Client().get('/robots.txt', secure=True, headers={'host': 'blog.example.com'})"
        ".get('Strict-Transport-Security'))"
    )
    env = production_environment(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="sqlite:///:memory:",
        PAGE_CACHE_SECONDS="0",
        **env,
    )
    result = run_with_environment(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return {part.strip().lower() for part in result.stdout.split(";") if part.strip()}


def test_https_sends_hsts_for_a_year_with_subdomains_but_no_preload():
    assert hsts_header() == {"max-age=31536000", "includesubdomains"}


def test_hsts_preload_is_sent_only_when_asked_for():
    assert "preload" in hsts_header(DJANGO_HSTS_PRELOAD="true")


def test_hsts_preload_needs_https_only_as_well():
    env = production_environment(DJANGO_HTTPS_ONLY="false", DJANGO_HSTS_PRELOAD="true")
    values = settings_values(env, "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD")
    assert values == {"SECURE_HSTS_SECONDS": 0, "SECURE_HSTS_PRELOAD": False}


def test_deploy_checks_pass_with_hsts_preload_on():
    result = run_with_environment(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_environment(DJANGO_HSTS_PRELOAD="true"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
