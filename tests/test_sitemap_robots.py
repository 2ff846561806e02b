from collections import Counter
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sitemaps import Sitemap
from django.utils import timezone

from blog.models import Post, Series, Tag

SITE_URL = "https://blog.example.com"
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
PAGES = [f"{SITE_URL}/", f"{SITE_URL}/archive/", f"{SITE_URL}/tags/", f"{SITE_URL}/series/"]
AUTHOR_PAGE = f"{SITE_URL}/authors/ada/"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL


def parse(response, root):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    # Our own server's output, not untrusted input.
    tree = ElementTree.fromstring(response.content)  # noqa: S314
    assert tree.tag == f"{{{NS['sm']}}}{root}"
    return tree


def url_entries(client, path="/sitemap.xml", **extra):
    """(loc, lastmod) for each <url>, in order; lastmod is None when absent."""
    tree = parse(client.get(path, **extra), "urlset")
    return [
        (url.findtext("sm:loc", namespaces=NS), url.findtext("sm:lastmod", namespaces=NS))
        for url in tree.findall("sm:url", NS)
    ]


def sitemap(client, path="/sitemap.xml", **extra):
    return dict(url_entries(client, path, **extra))


def index_locations(client, **extra):
    tree = parse(client.get("/sitemap.xml", **extra), "sitemapindex")
    return [entry.findtext("sm:loc", namespaces=NS) for entry in tree.findall("sm:sitemap", NS)]


def absolute(obj):
    return f"{SITE_URL}{obj.get_absolute_url()}"


def day(moment):
    return timezone.localdate(moment).isoformat()


def set_times(post, *, updated_days_ago, published_days_ago):
    # `save()` would reset updated_at to now; update() leaves it as given.
    now = timezone.now()
    Post.objects.filter(pk=post.pk).update(
        updated_at=now - timedelta(days=updated_days_ago),
        published_at=now - timedelta(days=published_days_ago),
    )
    post.refresh_from_db()


@pytest.fixture
def unpublished(make_post):
    """A draft and a scheduled post, each alone in its own tag and series."""
    draft_tag = Tag.objects.create(name="Draft only", slug="draft-only")
    draft_series = Series.objects.create(title="Draft series", slug="draft-series")
    later_tag = Tag.objects.create(name="Later only", slug="later-only")
    later_series = Series.objects.create(title="Later series", slug="later-series")
    draft = make_post(
        status=Post.Status.DRAFT, tags=[draft_tag], series=draft_series, series_part=1
    )
    scheduled = make_post(
        published_at=timezone.now() + timedelta(days=3),
        tags=[later_tag],
        series=later_series,
        series_part=1,
    )
    return [draft, scheduled, draft_tag, draft_series, later_tag, later_series]


def test_sitemap_lists_every_published_post_with_lastmod(client, make_post, tag):
    posts = [make_post(tags=[tag]) for _ in range(3)]
    entries = sitemap(client)
    for post in posts:
        assert entries[absolute(post)] == day(post.updated_at)


def test_sitemap_lists_home_archive_tag_index_and_series_index(client, db):
    assert list(sitemap(client)) == PAGES


def test_sitemap_lists_tag_and_series_pages_with_published_posts(client, make_post, tag, series):
    make_post(tags=[tag], series=series, series_part=1)
    entries = sitemap(client)
    assert entries[absolute(tag)]
    assert entries[absolute(series)]


def test_unpublished_posts_and_their_only_groups_are_absent(client, make_post, unpublished):
    published = make_post()
    empty_tag = Tag.objects.create(name="Empty", slug="empty")
    locations = set(sitemap(client))
    assert locations == {*PAGES, absolute(published), AUTHOR_PAGE}
    for absent in [*unpublished, empty_tag]:
        assert absolute(absent) not in locations


@pytest.mark.parametrize("group", ["tag", "series"])
def test_group_lastmod_is_newest_change_among_its_published_posts(
    client, make_post, tag, series, group
):
    in_group = {"tags": [tag]} if group == "tag" else {"series": series}
    parts = iter(range(1, 10))

    def post_in_group(**fields):
        extra = {"series_part": next(parts)} if group == "series" else {}
        return make_post(**in_group, **extra, **fields)

    older = post_in_group()
    set_times(older, updated_days_ago=10, published_days_ago=20)
    newest = post_in_group()
    set_times(newest, updated_days_ago=30, published_days_ago=5)
    # Changed later than both, but not public: they must not move the group's date.
    post_in_group(status=Post.Status.DRAFT)
    post_in_group(published_at=timezone.now() + timedelta(days=3))
    target = tag if group == "tag" else series
    assert sitemap(client)[absolute(target)] == day(newest.published_at)


def test_sitemap_lists_authors_with_public_posts_only(client, make_post):
    make_post()
    users = get_user_model().objects
    drafter = users.create_user(username="drafter")
    waiter = users.create_user(username="waiter")
    users.create_user(username="reader")
    draft = make_post(status=Post.Status.DRAFT)
    scheduled = make_post(published_at=timezone.now() + timedelta(days=3))
    Post.objects.filter(pk=draft.pk).update(author=drafter)
    Post.objects.filter(pk=scheduled.pk).update(author=waiter)
    authors = {loc for loc in sitemap(client) if "/authors/" in loc}
    assert authors == {AUTHOR_PAGE}


def test_author_lastmod_is_newest_change_among_their_public_posts(client, make_post):
    older = make_post()
    set_times(older, updated_days_ago=10, published_days_ago=20)
    newest = make_post()
    set_times(newest, updated_days_ago=30, published_days_ago=5)
    # Changed later than both, but not public: they must not move the author's date.
    make_post(status=Post.Status.DRAFT)
    make_post(published_at=timezone.now() + timedelta(days=3))
    assert sitemap(client)[AUTHOR_PAGE] == day(newest.published_at)


def test_post_lastmod_moves_when_it_is_edited(client, make_post):
    post = make_post()
    set_times(post, updated_days_ago=40, published_days_ago=50)
    assert sitemap(client)[absolute(post)] == day(post.updated_at)

    post.title = "A better title"
    post.save()
    post.refresh_from_db()
    edited = sitemap(client)[absolute(post)]
    assert edited == day(post.updated_at)
    assert edited > day(timezone.now() - timedelta(days=40))


@pytest.mark.parametrize("host", ["testserver", "127.0.0.1", "localhost:8000"])
def test_every_location_is_under_site_url_whatever_the_host(client, make_post, tag, series, host):
    make_post(tags=[tag], series=series, series_part=1)
    locations = list(sitemap(client, HTTP_HOST=host))
    assert len(locations) == 8
    assert all(loc.startswith(f"{SITE_URL}/") for loc in locations)


def test_site_url_port_is_kept(client, make_post, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    post = make_post()
    assert f"http://127.0.0.1:8000{post.get_absolute_url()}" in sitemap(client)


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(Sitemap, "limit", 2)


@pytest.fixture
def five_posts(make_post, tag, series):
    return [make_post(tags=[tag], series=series, series_part=n + 1) for n in range(5)]


def path_of(location):
    assert location.startswith(SITE_URL)
    return location.removeprefix(SITE_URL)


def test_past_the_limit_sitemap_becomes_an_index_of_section_files(client, five_posts, small_limit):
    locations = index_locations(client, HTTP_HOST="127.0.0.1")
    assert locations == [
        f"{SITE_URL}/sitemap-pages.xml",
        f"{SITE_URL}/sitemap-pages.xml?p=2",
        f"{SITE_URL}/sitemap-posts.xml",
        f"{SITE_URL}/sitemap-posts.xml?p=2",
        f"{SITE_URL}/sitemap-posts.xml?p=3",
        f"{SITE_URL}/sitemap-tags.xml",
        f"{SITE_URL}/sitemap-series.xml",
        f"{SITE_URL}/sitemap-authors.xml",
    ]


def test_index_files_together_list_every_address_exactly_once(
    client, five_posts, unpublished, monkeypatch
):
    single_file = Counter(url_entries(client))
    monkeypatch.setattr(Sitemap, "limit", 2)
    from_index = Counter()
    for location in index_locations(client):
        entries = url_entries(client, path_of(location), HTTP_HOST="127.0.0.1")
        assert 1 <= len(entries) <= 2
        assert all(loc.startswith(f"{SITE_URL}/") for loc, _ in entries)
        from_index.update(entries)
    assert from_index == single_file
    listed = Counter(loc for loc, _ in from_index.elements())
    assert all(listed[absolute(post)] == 1 for post in five_posts)


@pytest.mark.parametrize("over", [0, 1], ids=["at-limit", "one-over"])
def test_index_starts_only_past_the_limit(client, five_posts, monkeypatch, over):
    total = len(PAGES) + len(five_posts) + 3  # one tag, one series, one author
    monkeypatch.setattr(Sitemap, "limit", total - over)
    root = "sitemapindex" if over else "urlset"
    parse(client.get("/sitemap.xml"), root)


@pytest.mark.parametrize(
    "path",
    [
        "/sitemap-nope.xml",
        "/sitemap-posts.xml?p=99",
        "/sitemap-posts.xml?p=abc",
        "/sitemap-posts.xml?p=0",
    ],
)
def test_unknown_section_or_page_is_not_found(client, five_posts, path):
    assert client.get(path).status_code == 404


def test_robots_txt_points_at_sitemap_and_keeps_crawlers_out_of_admin(client, db):
    response = client.get("/robots.txt", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Sitemap: https://blog.example.com/sitemap.xml" in lines
    assert "Disallow: /admin/" in lines


NOINDEX = '<meta name="robots" content="noindex, nofollow">'


@pytest.mark.parametrize(
    "fields",
    [{"status": Post.Status.DRAFT}, {"published_at": timezone.now() + timedelta(days=3)}],
    ids=["draft", "scheduled"],
)
def test_staff_preview_of_unpublished_post_is_not_indexed(staff_client, make_post, fields):
    post = make_post(**fields)
    response = staff_client.get(post.get_absolute_url())
    assert response.status_code == 200
    assert NOINDEX in response.content.decode()


def test_published_post_page_may_be_indexed(client, make_post):
    response = client.get(make_post().get_absolute_url())
    assert response.status_code == 200
    assert 'name="robots"' not in response.content.decode()


@pytest.fixture(params=[5, 50], ids=lambda size: f"{size}-posts")
def blog_of_size(request, make_post, series):
    tags = [Tag.objects.create(name=f"Topic {n}", slug=f"topic-{n}") for n in range(6)]
    make_post(status=Post.Status.DRAFT, tags=tags[:2])
    return [
        make_post(tags=tags[n % 3 : n % 3 + 3], series=series, series_part=n + 1)
        for n in range(request.param)
    ]


def test_sitemap_queries_do_not_grow_with_posts(client, blog_of_size, django_assert_num_queries):
    # count, then one page, for each of posts, tags, series and authors
    with django_assert_num_queries(8):
        entries = sitemap(client)
    assert len(entries) == len(PAGES) + len(blog_of_size) + 5 + 1 + 1  # five tags in use


def test_sitemap_index_queries_do_not_grow_with_posts(
    client, blog_of_size, small_limit, django_assert_num_queries
):
    with django_assert_num_queries(4):  # a count for each of posts, tags, series and authors
        locations = index_locations(client)
    assert f"{SITE_URL}/sitemap-posts.xml?p={len(blog_of_size) // 2}" in locations
