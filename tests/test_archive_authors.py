"""The archive of every post by date, the byline on a post, and each author's page and feed."""

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.core.cache import caches
from django.utils import timezone

from blog.models import Post

SITE_URL = "https://blog.example.com"
ARCHIVE = "/archive/"
ADA = "/authors/ada/"
COMMITS = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL


class Outline(HTMLParser):
    """The page's h1-h3 headings and its links, in order, as text."""

    def __init__(self, html):
        super().__init__()
        self.headings, self.links, self.times = [], [], []
        self._in = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h1", "h2", "h3"):
            self._in = (tag, [])
        elif tag == "a":
            self._in = ("a", [], attrs)
        elif tag == "time":
            self.times.append(attrs["datetime"])

    def handle_data(self, data):
        if self._in:
            self._in[1].append(data)

    def handle_endtag(self, tag):
        if self._in and tag == self._in[0]:
            text = "".join(self._in[1]).strip()
            if tag == "a":
                self.links.append((text, self._in[2].get("href"), self._in[2].get("rel")))
            else:
                self.headings.append((tag, text))
            self._in = None


def outline(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return Outline(response.content.decode())


def archive_titles(page):
    """The post titles the archive links to, in order."""
    return [text for text, href, _ in page.links if href.startswith("/posts/")]


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=UTC)


# The archive


def test_archive_groups_posts_by_year_then_month_newest_first(client, make_post):
    for title, published_at in [
        ("Spring 2024", at(2024, 4, 2)),
        ("Late January 2025", at(2025, 1, 30)),
        ("March 2025", at(2025, 3, 9)),
        ("Early January 2025", at(2025, 1, 3)),
        ("Autumn 2023", at(2023, 10, 15)),
    ]:
        make_post(title=title, published_at=published_at)
    page = outline(client, ARCHIVE)
    assert page.headings == [
        ("h1", "Archive"),
        ("h2", "2025"),
        ("h3", "March 2025"),
        ("h3", "January 2025"),
        ("h2", "2024"),
        ("h3", "April 2024"),
        ("h2", "2023"),
        ("h3", "October 2023"),
    ]
    assert archive_titles(page) == [
        "March 2025",
        "Late January 2025",
        "Early January 2025",
        "Spring 2024",
        "Autumn 2023",
    ]


def test_archive_entry_is_the_date_and_the_title_linking_to_the_post(client, make_post):
    post = make_post(title="Tom & Jerry <b>", published_at=at(2025, 3, 9))
    content = client.get(ARCHIVE).content.decode()
    assert (
        f'<time datetime="2025-03-09">9 Mar</time> '
        f'<a href="{post.get_absolute_url()}">Tom &amp; Jerry &lt;b&gt;</a>'
    ) in content


def test_archive_links_each_year_from_the_top_when_there_are_several(client, make_post):
    make_post(published_at=at(2025, 3, 9))
    make_post(published_at=at(2023, 3, 9))
    page = outline(client, ARCHIVE)
    assert [(text, href) for text, href, _ in page.links if href.startswith("#year-")] == [
        ("2025", "#year-2025"),
        ("2023", "#year-2023"),
    ]
    content = client.get(ARCHIVE).content.decode()
    assert '<h2 id="year-2025">2025</h2>' in content


def test_archive_of_one_year_has_no_year_links(client, make_post):
    make_post(published_at=at(2025, 3, 9))
    make_post(published_at=at(2025, 1, 9))
    assert not [link for link in outline(client, ARCHIVE).links if link[1].startswith("#year-")]


def test_archive_groups_by_the_sites_time_zone(client, make_post, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    # New Year's Eve in UTC is already New Year's Day in Tokyo.
    make_post(title="New year", published_at=at(2025, 12, 31, hour=20))
    page = outline(client, ARCHIVE)
    assert page.headings[1:] == [("h2", "2026"), ("h3", "January 2026")]
    assert "2026-01-01" in page.times


def test_archive_never_lists_drafts_or_scheduled_posts(client, make_post):
    make_post(title="Public")
    make_post(title="Draft", status=Post.Status.DRAFT)
    make_post(title="Scheduled", published_at=timezone.now() + timedelta(hours=1))
    assert archive_titles(outline(client, ARCHIVE)) == ["Public"]


def test_scheduled_post_joins_the_archive_when_its_time_comes(client, make_post, time_machine):
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    make_post(title="Public", published_at=now - timedelta(days=1))
    make_post(title="Scheduled", published_at=now + timedelta(hours=1))
    assert archive_titles(outline(client, ARCHIVE)) == ["Public"]
    time_machine.move_to(now + timedelta(hours=1), tick=False)
    assert archive_titles(outline(client, ARCHIVE)) == ["Scheduled", "Public"]


def test_empty_archive_says_nothing_is_published(client, make_post):
    make_post(status=Post.Status.DRAFT)
    content = client.get(ARCHIVE).content.decode()
    assert "Nothing has been published yet." in content
    assert "<h2" not in content


@pytest.mark.parametrize("size", [3, 60])
def test_archive_is_one_query_however_many_posts(
    client, make_post, django_assert_num_queries, size
):
    now = timezone.now()
    for n in range(size):
        make_post(published_at=now - timedelta(days=11 * n + 1))
    make_post(status=Post.Status.DRAFT)
    with django_assert_num_queries(1):
        response = client.get(ARCHIVE)
    assert len(archive_titles(Outline(response.content.decode()))) == size


@pytest.mark.parametrize("path", ["/", "/posts/post-number-1/", "/tags/"])
def test_archive_is_linked_from_the_listing_and_every_pages_footer(client, make_post, path):
    make_post()
    links = [(text, href) for text, href, _ in outline(client, path).links]
    assert ("Archive: all posts by date", ARCHIVE) in links
    if path == "/":
        assert ("All posts by date", ARCHIVE) in links


# The byline


@pytest.mark.parametrize(
    ("first_name", "last_name", "name"),
    [("Ada", "Lovelace", "Ada Lovelace"), ("", "", "ada")],
)
def test_post_page_names_its_author_linking_to_their_page(
    client, make_post, author, first_name, last_name, name
):
    author.first_name, author.last_name = first_name, last_name
    author.save()
    post = make_post()
    assert (name, ADA, "author") in outline(client, post.get_absolute_url()).links


def test_post_page_structured_data_links_the_author_page(client, make_post, author):
    author.first_name, author.last_name = "Ada", "Lovelace"
    author.save()
    content = client.get(make_post().get_absolute_url()).content.decode()
    data = json.loads(re.search(r'application/ld\+json">(.*?)</script>', content, re.S)[1])
    assert data["author"] == {"@type": "Person", "name": "Ada Lovelace", "url": SITE_URL + ADA}


# The author's page


def test_author_page_lists_only_that_authors_public_posts(client, make_post, post_by):
    make_post(title="By Ada")
    make_post(title="Ada's draft", status=Post.Status.DRAFT)
    make_post(title="Ada's next", published_at=timezone.now() + timedelta(days=1))
    post_by("grace", title="By Grace")
    response = client.get(ADA)
    assert response.status_code == 200
    assert [post.title for post in response.context["posts"]] == ["By Ada"]
    assert "By Grace" not in response.content.decode()


def test_author_page_is_headed_with_the_authors_name(client, make_post, author):
    author.first_name, author.last_name = "Ada", "Lovelace"
    author.save()
    make_post()
    page = outline(client, ADA)
    assert page.headings[0] == ("h1", "Posts by Ada Lovelace")
    assert ("Feed", "/authors/ada/feed/", None) in page.links
    content = client.get(ADA).content.decode()
    assert "<title>Posts by Ada Lovelace · Blog</title>" in content
    assert f'<link rel="canonical" href="{SITE_URL}{ADA}">' in content


def test_author_page_is_paginated_like_the_listing(client, make_post):
    now = timezone.now()
    for n in range(1, 24):
        make_post(title=f"Post {n:02d}", published_at=now - timedelta(days=n))
    second = client.get(ADA, {"page": 2})
    assert [post.title for post in second.context["posts"]] == [
        f"Post {n:02d}" for n in range(11, 21)
    ]
    assert "Page 2 of 3" in second.content.decode()
    assert client.get(ADA, {"page": 4}).status_code == 404


def test_unknown_author_is_404(client, make_post):
    make_post()
    assert client.get("/authors/nobody/").status_code == 404


@pytest.mark.parametrize(
    "fields",
    [{"status": Post.Status.DRAFT}, {"published_at": timezone.now() + timedelta(days=3)}],
    ids=["draft", "scheduled"],
)
@pytest.mark.parametrize("path", ["/authors/grace/", "/authors/grace/feed/"])
def test_author_with_no_public_post_has_no_page_even_for_staff(
    staff_client, make_post, post_by, fields, path
):
    make_post()
    post_by("grace", **fields)
    assert staff_client.get(path).status_code == 404
    assert "grace" not in staff_client.get("/sitemap.xml").content.decode()


@pytest.mark.parametrize("username", ["ada.l+blog@example-site_1", "Zoë"])
def test_username_with_any_allowed_character_has_a_page_and_a_feed(client, post_by, username):
    post = post_by(username, title="Odd names")
    [(_, href, _)] = [
        link for link in outline(client, post.get_absolute_url()).links if link[2] == "author"
    ]
    assert client.get(href).status_code == 200
    assert client.get(f"{href}feed/").status_code == 200
    assert f"{SITE_URL}{href}" in client.get("/sitemap.xml").content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/authors/%00/",
        "/authors/ada%00/feed/",
        "/authors/%FF%FE/",
        "/authors/ada%2Fx/",
        "/authors/..%2F..%2Fadmin/",
        "/authors/%20/",
        "/authors/<script>/",
        f"/authors/{'a' * 300}/",
        "/authors/ADA/",
    ],
)
def test_odd_usernames_are_404(client, make_post, path):
    make_post()
    response = client.get(path)
    assert response.status_code == 404
    assert "<script>" not in response.content.decode()


@pytest.mark.parametrize("page", [1, 2])
def test_author_page_queries(client, make_post, django_assert_num_queries, page):
    for _ in range(15):
        make_post()
    # the author, the count, the page of posts, their tags
    with django_assert_num_queries(4):
        assert client.get(ADA, {"page": page}).status_code == 200


# Cached like the other public pages


@pytest.fixture
def page_cache(settings, test_cache_directory):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(test_cache_directory),
        },
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
    }
    settings.PAGE_CACHE_SECONDS = 600
    caches["local"].clear()
    yield
    caches["local"].clear()


@pytest.mark.parametrize("path", [ARCHIVE, ADA, f"{ADA}feed/"])
def test_archive_and_author_pages_are_cached_for_anonymous_readers(
    client, make_post, page_cache, django_assert_num_queries, path
):
    make_post()
    first = client.get(path)
    assert first.status_code == 200
    assert "public" in first["Cache-Control"]
    with django_assert_num_queries(0):
        again = client.get(path)
    assert again.content == first.content


@COMMITS
def test_unpublished_post_leaves_the_cached_archive_and_author_page(client, make_post, page_cache):
    kept = make_post(title="Kept")
    dropped = make_post(title="Dropped")
    assert archive_titles(outline(client, ARCHIVE)) == ["Kept", "Dropped"]
    assert client.get(ADA).status_code == 200
    dropped.status = Post.Status.DRAFT
    dropped.save()
    assert archive_titles(outline(client, ARCHIVE)) == ["Kept"]
    kept.status = Post.Status.DRAFT
    kept.save()
    assert client.get(ADA).status_code == 404
    assert client.get(f"{ADA}feed/").status_code == 404


@COMMITS
def test_renamed_author_shows_on_the_cached_pages(client, make_post, author, page_cache):
    post = make_post()
    assert outline(client, ADA).headings[0] == ("h1", "Posts by ada")
    author.first_name, author.last_name = "Ada", "Lovelace"
    author.save()
    assert outline(client, ADA).headings[0] == ("h1", "Posts by Ada Lovelace")
    assert ("Ada Lovelace", ADA, "author") in outline(client, post.get_absolute_url()).links


@COMMITS
def test_scheduled_post_joins_the_cached_archive_when_its_time_comes(client, make_post, page_cache):
    now = timezone.now()
    with time_machine.travel(now, tick=False) as traveller:
        make_post(title="Public", published_at=now - timedelta(days=1))
        # Due before a cached copy would expire by itself: only the cache's own rule for
        # scheduled posts can bring it in.
        make_post(title="Scheduled", published_at=now + timedelta(minutes=5))
        assert archive_titles(outline(client, ARCHIVE)) == ["Public"]
        traveller.move_to(now + timedelta(minutes=5, seconds=1))
        assert archive_titles(outline(client, ARCHIVE)) == ["Scheduled", "Public"]
