import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from PIL import Image

from blog.feeds import FEED_LENGTH
from blog.models import Post, Series, Tag
from tests.web_server import PROJECT_DIR

SITE_URL = "https://blog.example.com"
ATOM = "{http://www.w3.org/2005/Atom}"
MAIN_FEEDS = ["/feed/", "/rss/", "/feed.json"]
GROUP_FEEDS = ["/tags/concurrency/feed/", "/series/model-checking/feed/", "/authors/ada/feed/"]
DC = "{http://purl.org/dc/elements/1.1/}"
PLAIN_BODY = "First paragraph.\n\nSecond paragraph with *emphasis*."


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL


def parse_xml(response):
    # Our own feed's output, not untrusted input: the stdlib parser is safe for it.
    return ElementTree.fromstring(response.content)  # noqa: S314


@dataclass
class Entry:
    id: str
    title: str
    link: str
    content: str
    categories: list
    updated: datetime | None


def entries(response):
    """The entries of any of our feeds, in feed order, whatever its format."""
    assert response.status_code == 200
    kind = response["Content-Type"].split(";")[0]
    if kind == "application/atom+xml":
        return [
            Entry(
                id=entry.findtext(f"{ATOM}id"),
                title=entry.findtext(f"{ATOM}title"),
                link=entry.find(f"{ATOM}link").get("href"),
                content=entry.findtext(f"{ATOM}content"),
                categories=[c.get("term") for c in entry.findall(f"{ATOM}category")],
                updated=datetime.fromisoformat(entry.findtext(f"{ATOM}updated")),
            )
            for entry in parse_xml(response).findall(f"{ATOM}entry")
        ]
    if kind == "application/rss+xml":
        return [
            Entry(
                id=item.findtext("guid"),
                title=item.findtext("title"),
                link=item.findtext("link"),
                content=item.findtext("description"),
                categories=[c.text for c in item.findall("category")],
                updated=None,
            )
            for item in parse_xml(response).find("channel").findall("item")
        ]
    assert kind == "application/feed+json"
    return [
        Entry(
            id=item["id"],
            title=item["title"],
            link=item["url"],
            content=item["content_html"],
            categories=item.get("tags", []),
            updated=datetime.fromisoformat(item["date_modified"]),
        )
        for item in json.loads(response.content)["items"]
    ]


def titles(response):
    return [entry.title for entry in entries(response)]


@pytest.fixture
def post(make_post, tag, series):
    return make_post(title="Hello feeds", body=PLAIN_BODY, tags=[tag], series=series, series_part=1)


def test_atom_feed_has_its_required_elements(client, post):
    root = parse_xml(client.get("/feed/"))
    assert root.findtext(f"{ATOM}id")
    assert root.findtext(f"{ATOM}title")
    assert datetime.fromisoformat(root.findtext(f"{ATOM}updated"))
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": f"{SITE_URL}/feed/", "alternate": f"{SITE_URL}/"}
    [entry] = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}id")
    assert entry.findtext(f"{ATOM}title") == "Hello feeds"
    assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
    assert datetime.fromisoformat(entry.findtext(f"{ATOM}published")) == post.published_at
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "ada"
    assert entry.findtext(f"{ATOM}author/{ATOM}uri") == f"{SITE_URL}/authors/ada/"
    assert entry.find(f"{ATOM}link").get("href") == f"{SITE_URL}/posts/{post.slug}/"
    assert entry.findtext(f"{ATOM}summary") == post.summary
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert content.text == post.body_html
    assert "<em>emphasis</em>" in content.text


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("/tags/concurrency/feed/", "/tags/concurrency/"),
        ("/series/model-checking/feed/", "/series/model-checking/"),
        ("/authors/ada/feed/", "/authors/ada/"),
    ],
)
def test_group_atom_feed_links_itself_and_its_page(client, post, url, page):
    root = parse_xml(client.get(url))
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": f"{SITE_URL}{url}", "alternate": f"{SITE_URL}{page}"}
    assert titles(client.get(url)) == ["Hello feeds"]


def test_rss_feed_has_its_required_elements(client, post):
    channel = parse_xml(client.get("/rss/")).find("channel")
    assert channel.findtext("title")
    assert channel.findtext("link") == f"{SITE_URL}/"
    assert channel.findtext("description")
    [item] = channel.findall("item")
    assert item.findtext("title") == "Hello feeds"
    assert item.findtext("link") == f"{SITE_URL}/posts/{post.slug}/"
    guid = item.find("guid")
    assert guid.text
    assert guid.get("isPermaLink") == "false"
    assert item.findtext("pubDate")
    assert item.findtext("description") == post.body_html
    assert item.findtext(f"{DC}creator") == "ada"


def test_json_feed_has_its_required_fields(client, post, tag):
    feed = json.loads(client.get("/feed.json").content)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"]
    assert feed["home_page_url"] == f"{SITE_URL}/"
    assert feed["feed_url"] == f"{SITE_URL}/feed.json"
    [item] = feed["items"]
    assert item["id"]
    assert item["url"] == f"{SITE_URL}/posts/{post.slug}/"
    assert item["title"] == "Hello feeds"
    assert item["content_html"] == post.body_html
    assert item["summary"] == post.summary
    assert datetime.fromisoformat(item["date_published"]) == post.published_at
    assert datetime.fromisoformat(item["date_modified"])
    assert item["authors"] == [{"name": "ada", "url": f"{SITE_URL}/authors/ada/"}]
    assert item["tags"] == [tag.name]


def test_json_feed_has_an_icon_and_a_favicon_that_are_square_pngs(client, post):
    feed = json.loads(client.get("/feed.json").content)
    for field, size in [("icon", 512), ("favicon", 64)]:
        assert feed[field].startswith(f"{SITE_URL}/static/icons/")
        # Served by WhiteNoise from static/, so the file itself is what a reader would get.
        path = PROJECT_DIR / "static" / feed[field].removeprefix(f"{SITE_URL}/static/")
        with Image.open(path) as image:
            assert (image.format, image.size) == ("PNG", (size, size))


def test_json_feed_names_each_author_once_at_the_top_in_the_order_of_their_posts(
    client, make_post, post_by
):
    get_user_model().objects.create_user(username="grace", first_name="Grace", last_name="Hopper")
    post_by("grace", title="Newest")
    make_post(title="Middle")
    post_by("grace", title="Oldest")
    post_by("hidden", title="Draft", status=Post.Status.DRAFT)
    feed = json.loads(client.get("/feed.json").content)
    grace_entry = {"name": "Grace Hopper", "url": f"{SITE_URL}/authors/grace/"}
    ada_entry = {"name": "ada", "url": f"{SITE_URL}/authors/ada/"}
    assert feed["authors"] == [grace_entry, ada_entry]
    assert [item["authors"] for item in feed["items"]] == [
        [grace_entry],
        [ada_entry],
        [grace_entry],
    ]


def test_empty_json_feed_names_no_authors(client, db):
    feed = json.loads(client.get("/feed.json").content)
    assert feed["items"] == []
    assert "authors" not in feed


@pytest.mark.parametrize(
    ("url", "content_type"),
    [
        ("/feed/", "application/atom+xml"),
        ("/rss/", "application/rss+xml"),
        ("/feed.json", "application/feed+json"),
        ("/tags/concurrency/feed/", "application/atom+xml"),
        ("/series/model-checking/feed/", "application/atom+xml"),
        ("/authors/ada/feed/", "application/atom+xml"),
    ],
)
def test_feed_has_its_content_type(client, post, url, content_type):
    assert client.get(url)["Content-Type"].split(";")[0] == content_type


@pytest.mark.parametrize("url", MAIN_FEEDS)
def test_relative_links_in_the_body_become_absolute(client, make_post, url):
    make_post(slug="linking", body="See [x](/posts/other/) and a note.[^1]\n\n[^1]: The note.")
    [entry] = entries(client.get(url))
    assert f'href="{SITE_URL}/posts/other/"' in entry.content
    assert f'href="{SITE_URL}/posts/linking/#fn:1"' in entry.content
    for link in re.findall(r'(?:href|src)="([^"]*)"', entry.content):
        assert link.startswith(f"{SITE_URL}/")
    assert entry.link == f"{SITE_URL}/posts/linking/"


def test_link_after_an_attribute_holding_a_greater_than_sign_becomes_absolute(client, make_post):
    make_post(body='<a title="x>y" href="/posts/other/">x</a>')
    [entry] = entries(client.get("/feed/"))
    assert f'href="{SITE_URL}/posts/other/"' in entry.content


def test_feed_level_urls_are_absolute(client, post):
    atom = parse_xml(client.get("/feed/"))
    rss = parse_xml(client.get("/rss/"))
    feed = json.loads(client.get("/feed.json").content)
    urls = [link.get("href") for link in atom.iter(f"{ATOM}link")]
    urls += [link.get("href") for link in rss.iter(f"{ATOM}link")]
    urls += [link.text for link in rss.iter("link")]
    urls += [feed["home_page_url"], feed["feed_url"], feed["icon"], feed["favicon"]]
    urls += [author["url"] for author in feed["authors"]]
    urls += [item["url"] for item in feed["items"]]
    urls += [author["url"] for item in feed["items"] for author in item["authors"]]
    assert len(urls) == 13
    assert all(url.startswith(f"{SITE_URL}/") for url in urls)


@pytest.mark.parametrize("url", MAIN_FEEDS)
def test_entry_id_survives_editing_title_slug_body_and_date(client, post, url):
    [before] = entries(client.get(url))
    post.title, post.slug, post.body = "Renamed", "renamed", "All new words."
    post.published_at -= timedelta(days=3)
    post.save()
    [after] = entries(client.get(url))
    assert (after.title, after.link) == ("Renamed", f"{SITE_URL}/posts/renamed/")
    assert after.id == before.id


@pytest.mark.parametrize("url", ["/feed/", "/feed.json"])
def test_edit_moves_the_updated_time_forward(client, post, url):
    long_ago = timezone.now() - timedelta(days=30)
    Post.objects.filter(pk=post.pk).update(published_at=long_ago, updated_at=long_ago)
    [before] = entries(client.get(url))
    post.refresh_from_db()
    post.body = "Corrected."
    post.save()
    [after] = entries(client.get(url))
    assert before.updated == long_ago
    assert after.updated > before.updated


@pytest.mark.parametrize("url", MAIN_FEEDS)
def test_feed_lists_newest_first_up_to_feed_length(client, make_post, url):
    now = timezone.now()
    # 7 and 25 share no factor, so these hours are 0..24 in a scrambled order.
    posts = [make_post(published_at=now - timedelta(hours=(n * 7) % 25 + 1)) for n in range(25)]
    newest = sorted(posts, key=lambda post: post.published_at, reverse=True)[:FEED_LENGTH]
    assert FEED_LENGTH == 20
    assert titles(client.get(url)) == [post.title for post in newest]


@pytest.mark.parametrize("url", [*MAIN_FEEDS, *GROUP_FEEDS])
def test_drafts_and_scheduled_posts_are_absent(client, make_post, tag, series, url):
    group = {"tags": [tag], "series": series}
    make_post(title="Public", series_part=1, **group)
    make_post(title="Draft", status=Post.Status.DRAFT, series_part=2, **group)
    make_post(
        title="Scheduled", published_at=timezone.now() + timedelta(days=1), series_part=3, **group
    )
    assert titles(client.get(url)) == ["Public"]


def test_tag_feed_has_only_that_tags_posts(client, make_post, tag):
    other = Tag.objects.create(name="Databases", slug="databases")
    make_post(title="Tagged", tags=[tag, other])
    make_post(title="Other tag", tags=[other])
    make_post(title="Untagged")
    assert titles(client.get("/tags/concurrency/feed/")) == ["Tagged"]


def test_series_feed_has_only_that_series_posts(client, make_post, series):
    other = Series.objects.create(title="Compilers", slug="compilers")
    make_post(title="In series", series=series, series_part=1)
    make_post(title="Other series", series=other, series_part=1)
    make_post(title="No series")
    assert titles(client.get("/series/model-checking/feed/")) == ["In series"]


def test_author_feed_has_only_that_authors_posts(client, make_post, post_by):
    make_post(title="By Ada")
    post_by("grace", title="By Grace")
    assert titles(client.get("/authors/ada/feed/")) == ["By Ada"]
    assert titles(client.get("/authors/grace/feed/")) == ["By Grace"]


def test_author_feed_is_titled_with_the_authors_name(client, make_post, author):
    author.first_name, author.last_name = "Ada", "Lovelace"
    author.save()
    make_post()
    root = parse_xml(client.get("/authors/ada/feed/"))
    assert root.findtext(f"{ATOM}title") == "Blog: posts by Ada Lovelace"


@pytest.mark.parametrize("url", GROUP_FEEDS)
def test_group_whose_posts_are_all_drafts_has_no_feed(client, make_post, tag, series, url):
    make_post(status=Post.Status.DRAFT, tags=[tag], series=series, series_part=1)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "url", ["/tags/no-such-tag/feed/", "/series/no-such-series/feed/", "/authors/nobody/feed/"]
)
def test_unknown_group_has_no_feed(client, post, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", MAIN_FEEDS)
def test_categories_are_the_posts_tag_names(client, make_post, url):
    tags = [Tag.objects.create(name=name, slug=name.lower()) for name in ("Alpha", "Beta")]
    make_post(tags=tags)
    [entry] = entries(client.get(url))
    assert sorted(entry.categories) == ["Alpha", "Beta"]


@pytest.mark.parametrize("url", MAIN_FEEDS)
def test_special_characters_in_a_title_come_through_as_text(client, make_post, url):
    make_post(title='Tom & "Jerry" <b>')
    assert titles(client.get(url)) == ['Tom & "Jerry" <b>']


class AlternateLinks(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.found = set()
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "alternate":
            self.found.add((attrs["type"], attrs["href"]))


def advertised_feeds(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return AlternateLinks(response.content.decode()).found


SITE_FEEDS = {
    ("application/atom+xml", "/feed/"),
    ("application/rss+xml", "/rss/"),
    ("application/feed+json", "/feed.json"),
}


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/posts/post-number-1/",
        "/tags/",
        "/series/",
        "/archive/",
        "/search/?q=feeds",
        "/newsletter/",
    ],
)
def test_every_page_advertises_the_site_feeds(client, post, url):
    assert advertised_feeds(client, url) == SITE_FEEDS


@pytest.mark.parametrize(
    ("page", "feed"),
    [
        ("/tags/concurrency/", "/tags/concurrency/feed/"),
        ("/series/model-checking/", "/series/model-checking/feed/"),
        ("/authors/ada/", "/authors/ada/feed/"),
    ],
)
def test_group_page_also_advertises_its_own_feed(client, post, page, feed):
    assert advertised_feeds(client, page) == SITE_FEEDS | {("application/atom+xml", feed)}
    assert client.get(feed).status_code == 200


@pytest.fixture(params=[5, 50], ids=lambda size: f"{size}-posts")
def blog_of_size(request, make_post, series):
    tags = [Tag.objects.create(name=f"Topic {n}", slug=f"topic-{n}") for n in range(4)]
    for n in range(request.param):
        make_post(tags=tags[n % 2 : n % 2 + 2 + n % 2], series=series, series_part=n + 1)
    return request.param


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/feed/", 2),  # posts with their author, their tags
        ("/rss/", 2),
        ("/feed.json", 2),
        ("/tags/topic-1/feed/", 3),  # the tag, its posts with their author, their tags
        ("/series/model-checking/feed/", 3),  # the series, its posts, their tags
        ("/authors/ada/feed/", 3),  # the author, their posts, their tags
    ],
)
def test_feed_queries(client, blog_of_size, django_assert_num_queries, url, queries):
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert len(entries(response)) == min(blog_of_size, FEED_LENGTH)
