"""The page cache, seen from outside: what anonymous readers get, from where, and when it changes.

A page served from the cache costs no SQL, so `django_assert_num_queries(0)` is how these tests tell
a hit; freshness is told by the words on the page. Invalidation runs on commit, so tests that change
something after a page is cached commit for real (`COMMITS`); the others roll back, which is faster.
"""

import gzip
import time
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from blog.models import Post
from newsletter.models import Subscriber
from tests.post_forms import post_form_data

DRAFT = Post.Status.DRAFT
REDIS_URL = "redis://127.0.0.1:6379/14"
FILE_CACHE = "django.core.cache.backends.filebased.FileBasedCache"
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
LOCAL_CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"}
POST_URL = "/posts/hello-world/"
TAG_URL = "/tags/concurrency/"
SERIES_URL = "/series/model-checking/"
PUBLIC_PAGES = [
    "/",
    POST_URL,
    "/tags/",
    TAG_URL,
    "/tags/concurrency/feed/",
    "/series/",
    SERIES_URL,
    "/series/model-checking/feed/",
    "/feed/",
    "/rss/",
    "/feed.json",
    "/sitemap.xml",
    "/sitemap-posts.xml",
    "/robots.txt",
]

pytestmark = pytest.mark.usefixtures("page_cache")
COMMITS = pytest.mark.django_db(transaction=True)
# The core of invalidation, run over both shared caches the settings can choose.
ON_BOTH_BACKENDS = pytest.mark.parametrize("page_cache", ["file", "redis"], indirect=True)


@pytest.fixture
def page_cache(request, db, settings, test_cache_directory):
    """Page caching on, over files (the default) or Redis, with each worker's local layer."""
    server = None
    if getattr(request, "param", "file") == "redis":
        server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        try:
            server.flushdb()
        except redis.RedisError:
            pytest.skip(f"Redis is not reachable at {REDIS_URL}")
        shared = {"BACKEND": REDIS_CACHE, "LOCATION": REDIS_URL}
    else:
        shared = {"BACKEND": FILE_CACHE, "LOCATION": str(test_cache_directory)}
    # conftest's cache override has no "local" alias; without one the page cache stays off.
    settings.CACHES = {"default": shared, "local": LOCAL_CACHE}
    settings.PAGE_CACHE_SECONDS = 600
    caches["local"].clear()
    yield
    caches["local"].clear()
    if server is not None:
        server.flushdb()
        server.close()


@pytest.fixture
def hit(client, django_assert_num_queries):
    """An anonymous GET that must be answered from the cache: no SQL at all."""

    def hit(path, visitor=None, **kwargs):
        with django_assert_num_queries(0):
            return (visitor or client).get(path, **kwargs)

    return hit


@pytest.fixture
def warm(client, hit):
    """Have anonymous readers' pages cached, and check they now come from the cache."""

    def warm(*paths):
        for path in paths:
            first = client.get(path)
            assert first.status_code == 200, path
            again = hit(path)
            assert again.status_code == 200
            assert again.content == first.content

    return warm


@pytest.fixture
def read(client):
    """What an anonymous reader sees at `path` now."""

    def read(path):
        response = client.get(path)
        assert response.status_code == 200, path
        return response.content.decode()

    return read


def get_counting_queries(client, path, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **kwargs)
    return response, len(queries)


def cache_control(response):
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


def vary(response):
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


def change_in_admin(admin_client, post, **changes):
    url = reverse("admin:blog_post_change", args=[post.pk])
    response = admin_client.post(url, post_form_data(post, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors


def run_admin_action(admin_client, action, *posts):
    response = admin_client.post(
        reverse("admin:blog_post_changelist"),
        {"action": action, "_selected_action": [post.pk for post in posts]},
    )
    assert response.status_code == 302


class FormParser(HTMLParser):
    """Every form on a page: its method, action and the fields a browser would send."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self.open_form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.open_form = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action"),
                "fields": {},
            }
            self.forms.append(self.open_form)
        elif tag == "input" and self.open_form is not None and attrs.get("name"):
            self.open_form["fields"][attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.open_form = None


def the_post_form(html):
    """The page's one POST form for every new post (a series post also has its series' box)."""
    parser = FormParser()
    parser.feed(html)
    (form,) = [
        form
        for form in parser.forms
        if form["method"] == "post" and not {"series", "tag"} & form["fields"].keys()
    ]
    return form


@pytest.fixture
def post(make_post, tag, series):
    return make_post(
        title="Hello world", slug="hello-world", tags=[tag], series=series, series_part=1
    )


@pytest.fixture
def draft(make_post, tag):
    return make_post(title="Fresh off the press", slug="fresh", status=DRAFT, tags=[tag])


# Hits


@ON_BOTH_BACKENDS
def test_repeat_request_for_a_page_is_served_from_the_cache(post, client, hit):
    first = client.get(POST_URL)
    again = hit(POST_URL)
    assert again.status_code == 200
    assert again.content == first.content
    assert "Hello world" in again.content.decode()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_is_cached_public_and_without_cookies(post, client, hit, path):
    first = client.get(path)
    again = hit(path)
    for response in (first, again):
        assert response.status_code == 200
        assert "public" in cache_control(response)
        assert not response.cookies
        assert not response.has_header("Set-Cookie")
    assert again.content == first.content


# Invalidation: the page is cached, something changes, the next reader sees the change.


@COMMITS
def test_publishing_a_draft_in_the_admin_form_shows_it_everywhere(
    post, draft, admin_client, warm, read
):
    warm("/", TAG_URL, "/feed/", "/sitemap.xml")
    change_in_admin(admin_client, draft, _action="publish")
    for path in ("/", TAG_URL, "/feed/"):
        assert "Fresh off the press" in read(path), path
    assert "/posts/fresh/" in read("/sitemap.xml")
    assert "Fresh off the press" in read("/posts/fresh/")


@COMMITS
@ON_BOTH_BACKENDS
def test_publish_now_action_shows_the_post_everywhere(post, draft, admin_client, warm, read):
    warm("/", TAG_URL, "/feed/", "/sitemap.xml")
    run_admin_action(admin_client, "publish_now", draft)
    for path in ("/", TAG_URL, "/feed/"):
        assert "Fresh off the press" in read(path), path
    assert "/posts/fresh/" in read("/sitemap.xml")


@COMMITS
def test_editing_a_post_in_the_admin_form_updates_its_pages(post, admin_client, warm, read):
    warm("/", POST_URL, TAG_URL, SERIES_URL, "/feed/")
    change_in_admin(admin_client, post, title="Goodbye world", body="Now about **zebras**.")
    for path in ("/", POST_URL, TAG_URL, SERIES_URL, "/feed/"):
        page = read(path)
        assert "Goodbye world" in page, path
        assert "Hello world" not in page, path
    assert "<strong>zebras</strong>" in read(POST_URL)


@COMMITS
@ON_BOTH_BACKENDS
def test_editing_a_post_in_the_orm_updates_its_pages(post, warm, read):
    warm("/", POST_URL, TAG_URL, "/feed/")
    post.title = "Goodbye world"
    post.body = "Now about **zebras**."
    post.save()
    for path in ("/", POST_URL, TAG_URL, "/feed/"):
        assert "Goodbye world" in read(path), path
    assert "<strong>zebras</strong>" in read(POST_URL)


@COMMITS
def test_unpublish_action_takes_the_post_off_every_page(
    post, make_post, tag, admin_client, client, warm, read
):
    make_post(title="Still here", tags=[tag])
    warm("/", POST_URL, TAG_URL, "/feed/", "/sitemap.xml")
    run_admin_action(admin_client, "unpublish", post)
    assert client.get(POST_URL).status_code == 404
    for path in ("/", TAG_URL, "/feed/"):
        page = read(path)
        assert "Still here" in page
        assert "Hello world" not in page, path
    assert POST_URL not in read("/sitemap.xml")


@COMMITS
def test_deleting_a_post_in_the_admin_takes_it_off_every_page(
    post, make_post, tag, admin_client, client, warm, read
):
    make_post(title="Still here", tags=[tag])
    warm("/", POST_URL, TAG_URL, "/feed/", "/sitemap.xml")
    response = admin_client.post(reverse("admin:blog_post_delete", args=[post.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert client.get(POST_URL).status_code == 404
    for path in ("/", TAG_URL, "/feed/"):
        assert "Hello world" not in read(path), path
    assert POST_URL not in read("/sitemap.xml")


@COMMITS
def test_deleting_a_post_in_the_orm_takes_it_off_every_page(
    post, make_post, tag, client, warm, read
):
    make_post(title="Still here", tags=[tag])
    warm("/", POST_URL, TAG_URL, "/feed/", "/sitemap.xml")
    post.delete()
    assert client.get(POST_URL).status_code == 404
    for path in ("/", TAG_URL, "/feed/"):
        assert "Hello world" not in read(path), path
    assert POST_URL not in read("/sitemap.xml")


@COMMITS
@ON_BOTH_BACKENDS
def test_adding_a_tag_to_a_post_shows_on_the_tag_page_and_the_post(
    post, make_post, tag, warm, read
):
    other = make_post(title="Untagged so far")
    warm(TAG_URL, other.get_absolute_url())
    other.tags.add(tag)
    assert "Untagged so far" in read(TAG_URL)
    assert f'href="{TAG_URL}"' in read(other.get_absolute_url())


@COMMITS
def test_removing_a_tag_from_a_post_takes_it_off_the_tag_page_and_the_post(
    post, make_post, tag, warm, read
):
    other = make_post(title="Tagged for now", tags=[tag])
    warm(TAG_URL, other.get_absolute_url())
    other.tags.remove(tag)
    assert "Tagged for now" not in read(TAG_URL)
    assert f'href="{TAG_URL}"' not in read(other.get_absolute_url())


@COMMITS
def test_renaming_a_tag_in_the_admin_renames_it_on_every_page(post, tag, admin_client, warm, read):
    warm("/", POST_URL, "/tags/", TAG_URL, "/feed/")
    response = admin_client.post(
        reverse("admin:blog_tag_change", args=[tag.pk]), {"name": "Parallelism", "slug": tag.slug}
    )
    assert response.status_code == 302
    for path in ("/", POST_URL, "/tags/", TAG_URL, "/feed/"):
        page = read(path)
        assert "Parallelism" in page, path
        assert "Concurrency" not in page, path


@COMMITS
def test_deleting_a_tag_takes_it_off_every_page(post, tag, client, warm, read):
    warm("/", POST_URL, "/tags/", TAG_URL)
    tag.delete()
    assert client.get(TAG_URL).status_code == 404
    for path in ("/", POST_URL, "/tags/"):
        assert "Concurrency" not in read(path), path


@COMMITS
def test_renaming_a_series_renames_it_on_every_page(post, series, warm, read):
    warm(POST_URL, "/series/", SERIES_URL, "/series/model-checking/feed/")
    series.title = "Proofs by machine"
    series.save()
    for path in (POST_URL, "/series/", SERIES_URL, "/series/model-checking/feed/"):
        page = read(path)
        assert "Proofs by machine" in page, path
        assert "Model checking" not in page, path


@COMMITS
def test_moving_a_post_into_a_series_shows_it_in_the_series(post, make_post, series, warm, read):
    other = make_post(title="A second part")
    warm(SERIES_URL, other.get_absolute_url())
    other.series, other.series_part = series, 2
    other.save()
    assert "A second part" in read(SERIES_URL)
    assert "Part 2 of 2" in read(other.get_absolute_url())


@COMMITS
def test_moving_a_post_out_of_a_series_takes_it_out_of_the_series(
    post, make_post, series, warm, read
):
    other = make_post(title="A second part", series=series, series_part=2)
    warm(SERIES_URL, other.get_absolute_url())
    other.series = other.series_part = None
    other.save()
    assert "A second part" not in read(SERIES_URL)
    assert "Model checking" not in read(other.get_absolute_url())


@COMMITS
def test_changing_the_authors_name_shows_on_their_posts_and_the_feed(post, author, warm, read):
    warm(POST_URL, "/feed/")
    author.first_name, author.last_name = "Ada", "Lovelace"
    author.save()
    assert "Ada Lovelace" in read(POST_URL)
    assert "Ada Lovelace" in read("/feed/")


@COMMITS
def test_a_staff_login_does_not_empty_the_cache(post, author, warm, hit):
    warm("/")
    logged_in = Client().post(
        "/admin/login/", {"username": author.username, "password": "correct-horse-battery"}
    )
    assert logged_in.status_code == 302
    assert "Hello world" in hit("/").content.decode()


@COMMITS
def test_scheduled_post_appears_when_its_time_comes_with_no_save(make_post, warm, hit, read):
    due = timezone.now() + timedelta(seconds=1.5)
    make_post(title="Right on time", published_at=due)
    warm("/", "/feed/")
    assert "Right on time" not in hit("/").content.decode()
    # Generations last whole seconds, so this one ends within a second after the post is due.
    time.sleep(max(0, (due - timezone.now()).total_seconds()) + 1.1)
    assert "Right on time" in read("/")
    assert "Right on time" in read("/feed/")


# Transactions: only committed changes count.


@COMMITS
def test_rolled_back_edit_leaves_the_cached_page_as_it_was(post, warm, hit):
    warm(POST_URL)
    with pytest.raises(RuntimeError), transaction.atomic():
        post.title = "Never happened"
        post.save()
        raise RuntimeError
    page = hit(POST_URL).content.decode()
    assert "Hello world" in page
    assert "Never happened" not in page


@COMMITS
def test_edit_committed_after_a_rolled_back_savepoint_updates_the_page(post, warm, read):
    warm(POST_URL)
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            post.title = "Never happened"
            post.save()
            raise RuntimeError
        post.title = "Goodbye world"
        post.save()
    assert "Goodbye world" in read(POST_URL)


@COMMITS
def test_edit_committed_around_a_rolled_back_savepoint_updates_the_page(
    post, make_post, warm, read
):
    other = make_post(title="Another post")
    warm(POST_URL)
    with transaction.atomic():
        post.title = "Goodbye world"
        post.save()
        with pytest.raises(RuntimeError), transaction.atomic():
            other.title = "Never happened"
            other.save()
            raise RuntimeError
    assert "Goodbye world" in read(POST_URL)


# Staff and cookies


def test_staff_preview_of_a_draft_is_private_and_never_reaches_readers(draft, admin_client, client):
    preview = admin_client.get("/posts/fresh/")
    assert preview.status_code == 200
    assert "Draft: only staff can see this page." in preview.content.decode()
    assert {"private", "no-store"} <= cache_control(preview)
    assert client.get("/posts/fresh/").status_code == 404
    assert client.get("/posts/fresh/").status_code == 404


def test_staff_view_of_a_public_page_is_not_kept_for_readers(
    post, make_post, series, admin_client, client
):
    make_post(title="Part two in progress", status=DRAFT, series=series, series_part=2)
    staff_page = admin_client.get(POST_URL)
    assert "Part two in progress" in staff_page.content.decode()
    assert {"private", "no-store"} <= cache_control(staff_page)
    response, queries = get_counting_queries(client, POST_URL)
    assert queries > 0
    assert "Part two in progress" not in response.content.decode()
    assert "public" in cache_control(response)


def test_staff_bypass_the_cache_and_see_changes_it_was_not_told_of(post, admin_client, warm, hit):
    warm("/")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE blog_post SET title = %s WHERE id = %s", ["Quietly renamed", post.pk]
        )
    staff_page, queries = get_counting_queries(admin_client, "/")
    assert queries > 0
    assert "Quietly renamed" in staff_page.content.decode()
    assert {"private", "no-store"} <= cache_control(staff_page)
    # Readers keep the cached page until the next invalidation: raw SQL announces nothing.
    assert "Hello world" in hit("/").content.decode()


@pytest.mark.parametrize("cookie", [django_settings.SESSION_COOKIE_NAME, "messages"])
def test_a_session_or_messages_cookie_bypasses_the_cache(post, client, warm, cookie):
    warm("/")
    client.cookies[cookie] = "something"
    response, queries = get_counting_queries(client, "/")
    assert response.status_code == 200
    assert queries > 0
    assert "private" in cache_control(response)


def test_an_unrelated_cookie_still_gets_the_cached_page(post, client, warm, hit):
    warm("/")
    client.cookies["_ga"] = "1"
    response = hit("/")
    assert response.status_code == 200
    assert "public" in cache_control(response)


# The newsletter form on cached pages


@pytest.mark.parametrize("page", ["/", POST_URL])
def test_new_visitor_subscribes_from_a_cached_page(post, warm, hit, page):
    warm(page)
    visitor = Client(enforce_csrf_checks=True)
    cached = hit(page, visitor=visitor)
    html = cached.content.decode()
    assert not cached.cookies
    assert "csrfmiddlewaretoken" not in html
    form = the_post_form(html)
    assert {"email", "page"} <= form["fields"].keys()
    response = visitor.post(form["action"], {**form["fields"], "email": "new@example.com"})
    assert response.status_code == 303
    assert response["Location"] == reverse("newsletter:check_inbox")
    assert Subscriber.objects.get(email="new@example.com").consent_page == page


def test_subscribe_error_is_shown_only_to_the_visitor_who_made_it(post, warm, hit):
    warm("/")
    visitor = Client(enforce_csrf_checks=True)
    response = visitor.post(reverse("newsletter:subscribe"), {"email": "not-an-email", "page": "/"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    page = hit("/", visitor=visitor).content.decode()
    assert "Enter a valid email address." not in page
    assert "aria-invalid" not in page


def test_pages_that_set_a_cookie_are_never_replayed():
    # The admin login sets the CSRF cookie for each new visitor; a replay would carry none.
    pages = [Client().get(reverse("admin:login")) for _ in range(2)]
    for page in pages:
        assert page.status_code == 200
        assert django_settings.CSRF_COOKIE_NAME in page.cookies
    first, second = (the_post_form(page.content.decode())["fields"] for page in pages)
    assert first["csrfmiddlewaretoken"] != second["csrfmiddlewaretoken"]


# Conditional GET


def test_if_none_match_on_a_cached_page_is_304_without_queries(post, warm, hit):
    warm("/")
    etag = hit("/")["ETag"]
    response = hit("/", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""


def test_if_none_match_is_304_with_page_caching_off(post, client, settings):
    settings.PAGE_CACHE_SECONDS = 0
    etag = client.get("/")["ETag"]
    response = client.get("/", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""


def test_weak_etag_of_the_gzipped_page_revalidates_too(post, warm, hit):
    warm("/")
    etag = hit("/", headers={"Accept-Encoding": "gzip"})["ETag"]
    assert hit("/", headers={"If-None-Match": etag}).status_code == 304


def test_if_modified_since_last_modified_is_304(post, warm, hit):
    warm("/")
    last_modified = hit("/")["Last-Modified"]
    response = hit("/", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 304
    assert response.content == b""


def test_stale_etag_gets_the_whole_page(post, warm, hit):
    warm("/")
    response = hit("/", headers={"If-None-Match": '"not-this-one"'})
    assert response.status_code == 200
    assert "Hello world" in response.content.decode()


@COMMITS
def test_etag_changes_when_the_post_changes(post, client, warm, hit):
    warm(POST_URL)
    old_etag = hit(POST_URL)["ETag"]
    post.title = "Goodbye world"
    post.save()
    response = client.get(POST_URL, headers={"If-None-Match": old_etag})
    assert response.status_code == 200
    assert response["ETag"] != old_etag
    assert "Goodbye world" in response.content.decode()


@COMMITS
def test_feed_revalidated_by_date_after_unpublishing_drops_the_post(
    post, make_post, admin_client, client, warm, hit
):
    newest = make_post(title="Soon withdrawn", published_at=timezone.now() - timedelta(hours=1))
    warm("/feed/")
    last_modified = hit("/feed/")["Last-Modified"]
    # Last-Modified counts whole seconds; within the second of a change only ETags can tell.
    time.sleep(1)
    run_admin_action(admin_client, "unpublish", newest)
    response = client.get("/feed/", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 200
    assert "Soon withdrawn" not in response.content.decode()


# Headers


def test_anonymous_pages_may_be_kept_by_a_cdn_for_cdn_cache_seconds(post, client, hit, settings):
    settings.CDN_CACHE_SECONDS = 123
    for response in (client.get("/"), hit("/")):
        assert cache_control(response) == {"public", "max-age=0", "s-maxage=123"}


@pytest.mark.parametrize(
    "path", ["/posts/no-such-post/", "/posts/fresh/", "/tags/no-such-tag/", "/?page=999"]
)
def test_not_found_pages_are_not_public_and_not_kept(draft, client, path):
    for _ in range(2):
        response, queries = get_counting_queries(client, path)
        assert response.status_code == 404
        assert "public" not in cache_control(response)
        assert queries > 0


def test_not_found_pages_are_marked_never_to_be_stored(draft, client):
    assert "no-store" in cache_control(client.get("/posts/fresh/"))


def test_cached_pages_vary_on_cookie_and_accept_encoding(post, client, hit):
    for response in (client.get("/"), hit("/")):
        assert {"cookie", "accept-encoding"} <= vary(response)


def test_gzip_is_served_to_clients_that_accept_it(post, client, hit):
    client.get("/")
    plain = hit("/")
    gzipped = hit("/", headers={"Accept-Encoding": "gzip, deflate"})
    assert not plain.has_header("Content-Encoding")
    assert gzipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(gzipped.content) == plain.content
    assert gzipped["ETag"] == f"W/{plain['ETag']}"
    assert int(plain["Content-Length"]) == len(plain.content)
    assert int(gzipped["Content-Length"]) == len(gzipped.content)


# Query strings and hosts


def test_each_listing_page_is_cached_separately(make_post, warm, hit):
    for _ in range(10):
        make_post()
    make_post(title="The oldest story")
    warm("/", "/?page=2")
    assert "The oldest story" not in hit("/").content.decode()
    assert "The oldest story" in hit("/?page=2").content.decode()


def test_tracking_parameters_share_the_cached_page(post, warm, hit):
    warm("/")
    assert hit("/?utm_source=x&fbclid=y").content == hit("/").content


def test_page_numbers_on_a_page_without_pages_are_answered_but_never_stored(post, client, warm):
    warm(POST_URL)
    for number in (2, 3, 2):
        response, queries = get_counting_queries(client, f"{POST_URL}?page={number}")
        assert response.status_code == 200
        assert queries > 0


def test_a_page_number_that_is_not_a_number_is_404_and_not_public(post, client):
    for _ in range(2):
        response = client.get("/?page=abc")
        assert response.status_code == 404
        assert "public" not in cache_control(response)


def test_search_results_are_never_cached(post, client):
    for _ in range(2):
        response, queries = get_counting_queries(client, "/search/?q=hello")
        assert response.status_code == 200
        assert "Hello world" in response.content.decode()
        assert queries > 0
        assert "public" not in cache_control(response)


def test_a_cached_page_is_not_served_to_a_disallowed_host(post, client, warm):
    warm("/")
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_each_allowed_host_has_its_own_cached_page(post, client, warm, hit):
    warm("/")
    _, queries = get_counting_queries(client, "/", headers={"Host": "localhost"})
    assert queries > 0
    assert hit("/", headers={"Host": "localhost"}).status_code == 200


# Settings and the per-process layer


def test_page_cache_seconds_zero_turns_the_cache_off(post, client, settings):
    settings.PAGE_CACHE_SECONDS = 0
    _, first = get_counting_queries(client, "/")
    response, again = get_counting_queries(client, "/")
    assert again == first > 0
    assert "public" in cache_control(response)


@ON_BOTH_BACKENDS
def test_a_worker_without_a_local_copy_reads_the_shared_cache(post, warm, hit):
    warm("/")
    caches["local"].clear()
    assert "Hello world" in hit("/").content.decode()


def test_local_copies_do_not_outlive_the_shared_cache(post, warm, read):
    warm("/")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE blog_post SET title = %s WHERE id = %s", ["Quietly renamed", post.pk]
        )
    cache.clear()
    assert "Quietly renamed" in read("/")
