import base64
import hashlib
import json
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from blog.models import Post, Tag
from core import speculation

SITE_URL = "https://blog.example.com"
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}
SCHEDULED = "scheduled"


class Page(HTMLParser):
    """Every element of a page with its attributes, text and open ancestors."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self._open = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "ancestors": list(self._open)}
        self.elements.append(element)
        if tag not in VOID_ELEMENTS:
            self._open.append(element)

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index]["tag"] == tag:
                del self._open[index:]
                return

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def select(self, tag, within=None, **attrs):
        found = []
        for element in self.elements:
            if element["tag"] != tag:
                continue
            if within is not None and not any(a is within for a in element["ancestors"]):
                continue
            classes = element["attrs"].get("class", "").split()
            if all(
                value in classes if name == "class_" else element["attrs"].get(name) == value
                for name, value in attrs.items()
            ):
                found.append(element)
        return found

    def meta(self, key):
        """Contents of every <meta> whose name or property is `key`."""
        return [
            element["attrs"]["content"]
            for element in self.elements
            if element["tag"] == "meta"
            and key in (element["attrs"].get("name"), element["attrs"].get("property"))
        ]

    def canonical(self):
        (link,) = self.select("link", rel="canonical")
        return link["attrs"]["href"]

    def json_ld(self):
        (script,) = self.select("script", type="application/ld+json")
        return json.loads(script["text"])

    def contents_nav(self):
        """The table of contents, found as a reader finds it: the nav labelled "Contents"."""
        labels = {e["attrs"].get("id"): e["text"].strip() for e in self.elements}
        return [
            nav
            for nav in self.select("nav")
            if labels.get(nav["attrs"].get("aria-labelledby")) == "Contents"
        ]

    def related_titles(self):
        boxes = self.select("aside", class_="related-posts")
        assert len(boxes) <= 1
        return [a["text"] for box in boxes for a in self.select("a", within=box)]


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE_URL
    settings.SITE_NAME = "Example Notes"
    settings.SITE_TAGLINE = "Notes on examples, written slowly."


def get_page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status
    return Page(response.content.decode())


def at(days_ago):
    return timezone.now() - timedelta(days=days_ago)


def hidden_post(make_post, status, **fields):
    if status == SCHEDULED:
        return make_post(title="Secret plans", slug="secret-plans", published_at=at(-3), **fields)
    return make_post(title="Secret plans", slug="secret-plans", status=status, **fields)


@pytest.fixture
def other_tag(db):
    return Tag.objects.create(name="Databases", slug="databases")


@pytest.fixture
def public_site(make_post, tag, series):
    """Eleven public posts: enough for a second page of the listing and of the tag."""
    make_post(slug="a-post", tags=[tag], series=series, series_part=1)
    for _ in range(10):
        make_post(tags=[tag])


PUBLIC_PAGES = [
    ("/", 200),
    ("/?page=2", 200),
    ("/posts/a-post/", 200),
    ("/tags/concurrency/", 200),
    ("/series/model-checking/", 200),
    ("/tags/", 200),
    ("/series/", 200),
    ("/newsletter/", 200),
    ("/search/?q=post", 200),
]


@pytest.mark.parametrize(("path", "status"), PUBLIC_PAGES)
def test_every_public_page_has_link_preview_tags(client, public_site, path, status):
    page = get_page(client, path, status)
    assert [title["text"].strip() for title in page.select("title")] != [""]
    assert len(page.select("title")) == 1
    canonical = page.canonical()
    assert canonical.startswith(f"{SITE_URL}/")
    assert page.meta("og:url") == [canonical]
    assert page.meta("og:site_name") == ["Example Notes"]
    for key in ("description", "og:title", "og:description", "og:type", "twitter:card"):
        (content,) = page.meta(key)
        assert content.strip(), key
    (twitter_title,) = page.meta("twitter:title")
    assert twitter_title == page.meta("og:title")[0]


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/", "/"),
        ("/?page=1", "/"),
        ("/?page=2", "/?page=2"),
        ("/?utm_source=x", "/"),
        ("/?page=2&utm_source=x", "/?page=2"),
        ("/tags/concurrency/?page=2", "/tags/concurrency/?page=2"),
        ("/posts/a-post/?utm_source=x&ref=feed", "/posts/a-post/"),
    ],
)
def test_canonical_keeps_only_the_page_number(client, public_site, path, canonical):
    assert get_page(client, path).canonical() == f"{SITE_URL}{canonical}"


def test_post_page_previews_describe_the_article(client, make_post, tag, other_tag):
    post = make_post(
        title="Lamport clocks", summary="Ordering without a clock.", tags=[tag, other_tag]
    )
    page = get_page(client, post.get_absolute_url())
    assert page.meta("og:type") == ["article"]
    assert page.meta("og:title") == page.meta("twitter:title") == ["Lamport clocks"]
    assert page.meta("description") == page.meta("og:description") == ["Ordering without a clock."]
    (published,) = page.meta("article:published_time")
    assert datetime.fromisoformat(published) == post.published_at
    assert sorted(page.meta("article:tag")) == ["Concurrency", "Databases"]


def test_post_json_ld_is_a_blog_posting(client, make_post, tag):
    post = make_post(title="Lamport clocks", summary="Ordering without a clock.", tags=[tag])
    data = get_page(client, post.get_absolute_url()).json_ld()
    url = f"{SITE_URL}/posts/{post.slug}/"
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == "Lamport clocks"
    assert data["description"] == "Ordering without a clock."
    assert datetime.fromisoformat(data["datePublished"]) == post.published_at
    assert datetime.fromisoformat(data["dateModified"]) == post.updated_at
    assert data["url"] == url
    assert data["mainEntityOfPage"]["@id"] == url
    assert "isPartOf" not in data


@pytest.mark.parametrize(
    ("first_name", "last_name", "name"),
    [("Ada", "Lovelace", "Ada Lovelace"), ("", "", "ada")],
)
def test_json_ld_author_is_full_name_or_username(
    client, make_post, author, first_name, last_name, name
):
    author.first_name, author.last_name = first_name, last_name
    author.save()
    post = make_post()
    assert get_page(client, post.get_absolute_url()).json_ld()["author"]["name"] == name


def test_json_ld_of_series_post_names_its_series(client, make_post, series):
    post = make_post(series=series, series_part=1)
    assert get_page(client, post.get_absolute_url()).json_ld()["isPartOf"] == {
        "@type": "CreativeWorkSeries",
        "name": "Model checking",
        "url": f"{SITE_URL}/series/model-checking/",
    }


def test_title_cannot_close_the_json_ld_script(client, make_post):
    title = "Oops </script><script>alert(1)</script>"
    post = make_post(title=title)
    page = get_page(client, post.get_absolute_url())
    assert page.json_ld()["headline"] == title
    assert page.meta("og:title") == [title]
    assert [s["attrs"].get("type") for s in page.select("script")] == [
        "application/ld+json",
        "speculationrules",
    ]


def body_headings(page):
    (body,) = page.select("div", class_="post-body")
    return [e for e in page.elements if e["tag"] in {"h2", "h3"} and body in e["ancestors"]]


def test_post_with_three_headings_has_toc_linking_its_headings(client, make_post):
    body = "## Setup\n\nWords.\n\n### Setup\n\nMore.\n\n## Results\n\nEnd."
    page = get_page(client, make_post(body=body).get_absolute_url())
    (toc,) = page.contents_nav()
    ids = [heading["attrs"]["id"] for heading in body_headings(page)]
    assert len(set(ids)) == 3
    assert [a["attrs"]["href"] for a in page.select("a", within=toc)] == [f"#{i}" for i in ids]


def test_post_with_two_headings_has_no_toc(client, make_post):
    page = get_page(client, make_post(body="## One\n\nA.\n\n## Two\n\nB.").get_absolute_url())
    assert page.contents_nav() == []


def test_every_heading_in_the_body_links_to_itself(client, make_post):
    body = "## One\n\nA.\n\n### Two & a half\n\nB.\n\n## Three\n\nC."
    page = get_page(client, make_post(body=body).get_absolute_url())
    headings = body_headings(page)
    assert len(headings) == 3
    for heading in headings:
        anchors = page.select("a", within=heading, class_="heading-anchor")
        assert [a["attrs"]["href"] for a in anchors] == [f"#{heading['attrs']['id']}"]


def test_related_posts_are_the_three_newest_sharing_a_tag(client, make_post, tag, other_tag):
    for days_ago in (1, 2, 3, 4):
        make_post(title=f"Tagged {days_ago}", tags=[tag], published_at=at(days_ago))
    make_post(title="Other tag only", tags=[other_tag], published_at=at(0.5))
    make_post(title="Untagged", published_at=at(0.5))
    post = make_post(title="This one", tags=[tag], published_at=at(1.5))
    page = get_page(client, post.get_absolute_url())
    assert page.related_titles() == ["Tagged 1", "Tagged 2", "Tagged 3"]


def test_related_posts_share_any_one_tag_and_appear_once(client, make_post, tag, other_tag):
    make_post(title="Both tags", tags=[tag, other_tag], published_at=at(1))
    make_post(title="Second tag", tags=[other_tag], published_at=at(2))
    post = make_post(tags=[tag, other_tag], published_at=at(3))
    page = get_page(client, post.get_absolute_url())
    assert page.related_titles() == ["Both tags", "Second tag"]


@pytest.mark.parametrize("status", [Post.Status.DRAFT, SCHEDULED])
def test_related_posts_leave_out_posts_readers_cannot_see(client, make_post, tag, status):
    hidden_post(make_post, status, tags=[tag])
    make_post(title="Visible", tags=[tag], published_at=at(2))
    post = make_post(tags=[tag], published_at=at(3))
    page = get_page(client, post.get_absolute_url())
    assert page.related_titles() == ["Visible"]


def test_post_without_tags_has_no_related_box(client, make_post, tag):
    make_post(tags=[tag], published_at=at(1))
    make_post(published_at=at(2))
    page = get_page(client, make_post(published_at=at(3)).get_absolute_url())
    assert page.select("aside", class_="related-posts") == []


@pytest.mark.parametrize(("path", "status"), PUBLIC_PAGES)
def test_every_page_has_speculation_rules_allowed_by_the_csp_hash(
    client, public_site, path, status
):
    (script,) = get_page(client, path, status).select("script", type="speculationrules")
    rules = json.loads(script["text"])
    assert {"href_matches": "/posts/*"} in [rule["where"] for rule in rules["prerender"]]
    digest = base64.b64encode(hashlib.sha256(script["text"].encode()).digest()).decode()
    assert f"'sha256-{digest}'" == speculation.CSP_HASH


@pytest.mark.parametrize("status", [Post.Status.DRAFT, SCHEDULED])
@pytest.mark.parametrize(
    "path", ["/", "/tags/concurrency/", "/series/model-checking/", "/posts/public/"]
)
def test_hidden_post_appears_nowhere_on_other_pages(client, make_post, tag, series, status, path):
    make_post(slug="public", tags=[tag], series=series, series_part=1, published_at=at(2))
    hidden_post(make_post, status, tags=[tag], series=series, series_part=2)
    content = client.get(path).content.decode()
    assert "Secret plans" not in content
    assert "secret-plans" not in content


@pytest.mark.parametrize("published_at", [None, at(5)], ids=["never-published", "unpublished"])
def test_staff_preview_of_draft_is_noindex_and_claims_no_publication(
    staff_client, make_post, published_at
):
    draft = make_post(status=Post.Status.DRAFT, published_at=published_at)
    page = get_page(staff_client, draft.get_absolute_url())
    (robots,) = page.meta("robots")
    assert "noindex" in robots
    assert "datePublished" not in page.json_ld()
    assert page.meta("article:published_time") == []


def test_staff_preview_of_scheduled_post_is_noindex(staff_client, make_post):
    post = make_post(published_at=at(-3))
    (robots,) = get_page(staff_client, post.get_absolute_url()).meta("robots")
    assert "noindex" in robots
