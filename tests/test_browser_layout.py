"""The reader pages' layout in a real Chromium, where only a browser can tell: no sideways
scrolling at 320 px in either colour scheme, the header in one row at 1280 px, the pagination
centred, the boxes around a post equally wide, and a series post's first paragraph on a phone's
first screen. JavaScript stays off: none of this needs it."""

import pytest

from blog.models import Series
from tests.chromium import launched_chromium, needs_chromium, on_postgresql_only

pytestmark = [needs_chromium, on_postgresql_only, pytest.mark.django_db(transaction=True)]

SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"
SERIES_TITLE = "Building a Formal Verification Tool from Scratch"
BODY = """In part one we solved a puzzle with a breadth-first search over states, and it worked.

## Why a virtual machine

Words about the machine.[^why]

## Designing the instruction set

Words about instructions.

## Where this leaves us

More words.

[^why]: Because a checker must work from the specification alone.
"""


@pytest.fixture(scope="module")
def browser(live_server):
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def open_page(browser, live_server):
    contexts = []

    def open_page(address, width, height=800, scheme="light"):
        context = browser.new_context(
            java_script_enabled=False,
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            color_scheme=scheme,
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(address)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def reader_site(make_post, tag):
    """A series of three long-titled parts with contents and a footnote, sharing a tag with
    ten other posts: enough for related posts and a second listing page."""
    series = Series.objects.create(title=SERIES_TITLE, slug="formal-verification")
    parts = [
        make_post(
            title=f"{SERIES_TITLE}: Part {n} ({name})",
            series=series,
            series_part=n,
            body=BODY,
            tags=[tag],
        )
        for n, name in [(1, "Die Hard Edition"), (2, "The Virtual Machine"), (3, "Rethinking")]
    ]
    for n in range(10):
        make_post(title=f"Why queues don’t fix overload, and what to do instead ({n})", tags=[tag])
    return parts


PAGES = ["/", "/?page=2", "part", "/tags/", "/series/", "/search/?q=queues", "/no-such-page/"]


# Each test builds the site anew (a transaction per test cannot be shared with the live
# server), so the pages of one test are visited in a loop rather than one test each.
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_fit_320_px_without_sideways_scrolling(open_page, reader_site, scheme):
    part = reader_site[1].get_absolute_url()
    for address in PAGES:
        page = open_page(part if address == "part" else address, 320, scheme=scheme)
        assert page.locator("h1").is_visible(), address
        assert not page.evaluate(SCROLLS_SIDEWAYS), address


def test_header_is_one_row_at_1280_px_with_a_quiet_search_button(open_page, reader_site):
    page = open_page("/", 1280)
    boxes = [
        page.locator(selector).bounding_box()
        for selector in [".site-title", ".site-nav", ".site-search"]
    ]
    middles = [box["y"] + box["height"] / 2 for box in boxes]
    assert max(middles) - min(middles) < 4
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    button = page.locator(".site-search button")
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgba(0, 0, 0, 0)"


def test_current_page_number_is_centred_under_the_posts(open_page, reader_site):
    for address in ["/", "/?page=2"]:
        for width in [390, 1280]:
            page = open_page(address, width)
            row = page.locator(".pagination").bounding_box()
            current = page.locator(".pagination__current").bounding_box()
            offset = (current["x"] + current["width"] / 2) - (row["x"] + row["width"] / 2)
            assert abs(offset) < 1, (address, width)


def test_boxes_around_a_post_are_equally_wide(open_page, reader_site):
    page = open_page(reader_site[1].get_absolute_url(), 1280)
    widths = {
        selector: page.locator(selector).first.bounding_box()["width"]
        for selector in [".series-nav", ".post-toc", ".newsletter-box", ".post-body"]
    }
    assert len(set(widths.values())) == 1, widths


def test_series_post_starts_on_a_phones_first_screen(open_page, reader_site):
    page = open_page(reader_site[1].get_absolute_url(), 390, height=844)
    first_paragraph = page.locator(".post-body p").first.bounding_box()
    assert first_paragraph["y"] < 844 - first_paragraph["height"]
    assert not page.get_by_role("link", name="Die Hard Edition", exact=True).is_visible()
    assert page.get_by_role("link", name="← Part 1: Die Hard Edition").is_visible()


def test_series_and_contents_open_by_keyboard_without_javascript(open_page, reader_site):
    page = open_page(reader_site[1].get_absolute_url(), 390, height=844, scheme="dark")
    for summary, link in [
        (".series-nav summary", "Die Hard Edition"),
        (".post-toc summary", "Designing the instruction set"),
    ]:
        page.locator(summary).focus()
        outline = page.locator(summary).evaluate("s => getComputedStyle(s).outlineStyle")
        assert outline == "solid"
        page.keyboard.press("Enter")
        assert page.get_by_role("link", name=link, exact=True).is_visible()


def test_related_post_dates_and_footnote_back_links_read_apart(open_page, reader_site):
    page = open_page(reader_site[1].get_absolute_url(), 320)
    dates = page.locator(".related-posts time")
    assert dates.count() == 3
    for index in range(3):
        assert dates.nth(index).evaluate("t => t.getClientRects().length") == 1
    backref = page.locator(".footnote-backref").first
    assert "underline" in backref.evaluate("a => getComputedStyle(a).textDecorationLine")
