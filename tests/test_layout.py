"""The reader pages' layout and markup: header, headings, series and contents boxes, related
posts, error pages, icons and datetimes. What only a browser can show is in
tests/test_browser_layout.py."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import path
from django.utils import timezone

from blog.models import Post, Series
from blog.templatetags.blog_tags import html_datetime, title_within_series
from config.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("deliberate failure for the 500 page")


urlpatterns = [path("boom/", boom), *site_urlpatterns]
handler500 = "core.views.server_error"


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes and the text inside it."""

    def __init__(self, html):
        super().__init__()
        self.elements, self.open = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in {"meta", "link", "input", "img", "br", "hr", "source"}:
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.open:
            element["text"] += data

    def classed(self, name):
        return [e for e in self.elements if name in e["attrs"].get("class", "").split()]

    def select(self, tag, **attrs):
        return [
            element
            for element in self.elements
            if element["tag"] == tag
            and all(element["attrs"].get(name) == value for name, value in attrs.items())
        ]


def page(client, address, status=200):
    response = client.get(address)
    assert response.status_code == status
    return Elements(response.content.decode())


def text(element):
    return " ".join(element["text"].split())


SERIES_TITLE = "Building a Formal Verification Tool from Scratch"


@pytest.fixture
def long_series(make_post):
    series = Series.objects.create(title=SERIES_TITLE, slug="formal-verification")
    body = "Words.\n\n## Why\n\nMore.\n\n## How\n\nMore.\n\n### Details\n\nMore."
    return [
        make_post(
            title=f"{SERIES_TITLE}: Part {n} ({name})", series=series, series_part=n, body=body
        )
        for n, name in [(1, "Die Hard Edition"), (2, "The Virtual Machine"), (3, "Rethinking")]
    ]


# Header and headings


def test_every_page_but_search_has_the_header_search_form(client, make_post):
    for address in ["/", make_post().get_absolute_url(), "/tags/", "/series/", "/nope/"]:
        forms = page(client, address, 404 if address == "/nope/" else 200).select("form")
        assert [form["attrs"].get("role") for form in forms].count("search") == 1, address


@pytest.mark.parametrize("query", ["", "?q=queues"])
def test_search_page_shows_one_search_form_holding_the_query(client, make_post, query):
    make_post(title="Queues")
    found = page(client, f"/search/{query}")
    (form,) = found.select("form", role="search")
    (field,) = found.select("input", type="search")
    assert field["attrs"]["id"] == "search-q"
    assert field["attrs"].get("value", "") == query.removeprefix("?q=")


def test_listing_heading_says_what_it_lists_not_the_site_name(client, make_post, settings):
    make_post()
    (heading,) = page(client, "/").select("h1")
    assert text(heading) == "Latest posts"
    assert text(heading) != settings.SITE_NAME


def test_later_listing_pages_say_which_page(client, make_post):
    for _ in range(11):
        make_post()
    (heading,) = page(client, "/?page=2").select("h1")
    assert text(heading) == "Posts, page 2"


@pytest.mark.parametrize("address", ["/", "/tags/", "/series/", "/search/?q=x", "/nope/"])
def test_each_page_has_one_h1(client, make_post, address):
    make_post()
    assert len(page(client, address, 404 if address == "/nope/" else 200).select("h1")) == 1


def test_post_page_has_one_h1(client, long_series):
    assert len(page(client, long_series[1].get_absolute_url()).select("h1")) == 1


# Series and contents boxes


def test_series_box_is_a_closed_disclosure_saying_where_the_part_sits(client, long_series):
    found = page(client, long_series[1].get_absolute_url())
    (details,) = found.select("details", **{"class": "series-nav__details"})
    assert "open" not in details["attrs"]
    (summary,) = found.classed("series-nav__title")
    assert text(summary) == f"Part 2 of 3 in “{SERIES_TITLE}”"


def test_series_links_name_parts_without_repeating_the_series_title(client, long_series):
    first, second, third = long_series
    found = page(client, second.get_absolute_url())
    (links,) = found.classed("series-nav__links")
    assert text(links) == "← Part 1: Die Hard Edition Part 3: Rethinking →"
    (parts,) = found.select("ol", **{"class": "series-nav__parts"})
    assert text(parts) == "Die Hard Edition The Virtual Machine Rethinking"
    (current,) = found.select("li", **{"aria-current": "page"})
    assert text(current) == "The Virtual Machine"


def test_series_box_links_to_the_series_page(client, long_series):
    found = page(client, long_series[0].get_absolute_url())
    series_url = long_series[0].series.get_absolute_url()
    assert [text(a) for a in found.select("a", href=series_url)] == ["About the series"]


def test_part_titled_only_by_series_and_number_keeps_the_number(client, make_post, series):
    make_post(title="Model checking, part 1", series=series, series_part=1)
    second = make_post(title="Model checking, part 2", series=series, series_part=2)
    found = page(client, second.get_absolute_url())
    (links,) = found.classed("series-nav__links")
    assert text(links) == "← Part 1"
    (current,) = found.select("li", **{"aria-current": "page"})
    assert text(current) == "Model checking, part 2"


def test_contents_box_is_a_closed_disclosure_counting_its_sections(client, long_series):
    found = page(client, long_series[0].get_absolute_url())
    (nav,) = found.select("nav", **{"aria-labelledby": "toc-heading"})
    (details,) = [d for d in found.select("details") if "class" not in d["attrs"]]
    assert "open" not in details["attrs"]
    (label,) = found.select("span", id="toc-heading")
    assert text(label) == "Contents"
    assert "Contents (3 sections)" in [text(s) for s in found.select("summary")]
    assert text(nav) == "Contents (3 sections) Why How Details"


@pytest.mark.parametrize(
    ("title", "series_title", "shown"),
    [
        (f"{SERIES_TITLE}: Part 1 (Die Hard Edition)", SERIES_TITLE, "Die Hard Edition"),
        (f"{SERIES_TITLE} — Part 2: The VM", SERIES_TITLE, "The VM"),
        (f"{SERIES_TITLE.lower()}: part 3 – Done", SERIES_TITLE, "Done"),
        (f"{SERIES_TITLE} #4: Proofs", SERIES_TITLE, "Proofs"),
        (f"{SERIES_TITLE}: Testing [Extra]", SERIES_TITLE, "Testing [Extra]"),
        (f"{SERIES_TITLE}, part 5", SERIES_TITLE, ""),
        (SERIES_TITLE, SERIES_TITLE, ""),
        ("Die Hard Edition", SERIES_TITLE, "Die Hard Edition"),
        ("Modeling checkers", "Model", "Modeling checkers"),
        ("Anything", "", "Anything"),
    ],
)
def test_title_within_series_drops_a_leading_series_title_and_part_number(
    title, series_title, shown
):
    assert title_within_series(title, series_title) == shown


# Related posts and pagination


def test_related_posts_are_a_list_of_title_and_date(client, make_post, tag):
    older = make_post(title="Older", tags=[tag])
    post = make_post(title="Newer", tags=[tag])
    found = page(client, post.get_absolute_url())
    (box,) = found.select("aside", **{"class": "related-posts"})
    (item,) = found.select("ul", **{"class": "related-posts__list"})
    assert (
        text(item)
        == f"Older {older.published_at:%B} {older.published_at.day}, {older.published_at.year}"
    )


def test_first_listing_page_has_no_empty_pagination_placeholders(client, make_post):
    for _ in range(11):
        make_post()
    content = client.get("/").content.decode()
    pagination = content[content.index('class="pagination"') :]
    pagination = pagination[: pagination.index("</nav>")]
    assert "<span></span>" not in pagination
    assert "Page 1 of 2" in pagination


# Error pages


@pytest.mark.urls("tests.test_layout")
@pytest.mark.parametrize(("address", "status"), [("/nope/", 404), ("/boom/", 500)])
def test_error_pages_declare_no_canonical_address_and_ask_not_to_be_indexed(db, address, status):
    found = page(Client(raise_request_exception=False), address, status)
    assert found.select("link", rel="canonical") == []
    assert [m["attrs"]["content"] for m in found.select("meta", name="robots")] == ["noindex"]


def test_rate_limited_search_declares_no_canonical_address(client, db, settings):
    settings.SEARCHES_PER_IP_PER_MINUTE = 1
    client.get("/search/?q=one")
    found = page(client, "/search/?q=two", 429)
    assert found.select("link", rel="canonical") == []


# Icons


def test_favicon_ico_is_the_site_icon_and_may_be_cached(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    with open(finders.find("icons/favicon.ico"), "rb") as icon:
        assert response.content == icon.read()
    assert "public" in response["Cache-Control"]
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header


def test_favicon_ico_answers_head_and_refuses_post(client, db):
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


def test_every_page_links_icons_that_exist(client, db):
    found = page(client, "/")
    icons = found.select("link", rel="icon") + found.select("link", rel="apple-touch-icon")
    assert {link["attrs"].get("type") for link in icons} >= {"image/svg+xml"}
    for link in icons:
        name = link["attrs"]["href"].removeprefix("/static/")
        assert finders.find(name), name


def test_icon_files_have_the_sizes_browsers_ask_for():
    from PIL import Image

    with Image.open(finders.find("icons/favicon.ico")) as icon:
        assert icon.size == (32, 32)
    with Image.open(finders.find("icons/apple-touch-icon.png")) as touch:
        assert touch.size == (180, 180)
        assert touch.mode == "RGB"  # iOS shows transparency as black


# Datetimes

# A valid global date and time string as the Nu Html Checker reads it, or a plain date.
HTML_DATETIME = re.compile(r"\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d)?(Z|[+-]\d\d:\d\d))?")


def test_html_datetime_has_whole_seconds_and_an_offset(settings):
    moment = timezone.now().replace(microsecond=300148)
    shown = html_datetime(moment)
    assert HTML_DATETIME.fullmatch(shown)
    assert "." not in shown
    assert html_datetime(None) == ""
    assert html_datetime(moment.date()) == moment.date().isoformat()


def test_every_time_element_carries_a_valid_datetime(client, make_post, tag):
    published = timezone.now().replace(microsecond=123456) - timedelta(days=10)
    post = make_post(title="Edited later", published_at=published, tags=[tag])
    make_post(title="Its neighbour", tags=[tag])
    Post.objects.filter(pk=post.pk).update(updated_at=timezone.now().replace(microsecond=300148))
    addresses = [post.get_absolute_url(), "/", tag.get_absolute_url(), "/search/?q=edited"]
    datetimes = [
        element["attrs"]["datetime"]
        for address in addresses
        for element in page(client, address).select("time")
    ]
    assert len(datetimes) >= 6  # published, updated, related, listing, tag page, search
    assert [value for value in datetimes if not HTML_DATETIME.fullmatch(value)] == []
