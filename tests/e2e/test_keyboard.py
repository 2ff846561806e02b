"""A reader who uses only the keyboard: every stop on the way shows where the focus is."""

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from newsletter.models import Subscriber
from newsletter.tokens import make_manage_token
from tests.chromium import needs_chromium
from tests.e2e.pages import Watched

pytestmark = needs_chromium

# What the focused element looks like: a focus ring is an outline or a box shadow.
FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== "none";
  const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
    + (element.className && typeof element.className === "string"
       ? "." + element.className.trim().split(/\\s+/).join(".") : "")
    + " " + JSON.stringify((element.getAttribute("aria-label") || element.textContent || "")
      .trim().slice(0, 40));
  return {name, visible: outline || shadow, tag: element.tagName.toLowerCase()};
}"""


class Keyboard:
    """Tabs through a page, remembering every stop that showed no focus ring."""

    def __init__(self, page):
        self.page = page
        self.unseen = []

    def focused(self):
        return self.page.evaluate(FOCUSED)

    def press(self, key):
        self.page.keyboard.press(key)
        stop = self.focused()
        if stop["tag"] not in {"body", "main"} and not stop["visible"]:
            self.unseen.append(f"{self.page.url}: {stop['name']}")
        return stop

    def follow(self, key="Enter"):
        """Presses a key that leaves the page (a link, a form), and waits for the next one."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def tab_to(self, selector, limit=80):
        """Tabs until the focused element matches `selector`; fails after `limit` stops."""
        for _ in range(limit):
            self.press("Tab")
            if self.page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{selector} not reached in {limit} tabs on {self.page.url}")


def test_keyboard_reader_skips_searches_reads_code_subscribes_and_manages(site, browser):
    reader = Watched(browser, site)
    page = reader.page
    keys = Keyboard(page)

    reader.goto("/")
    keys.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    keys.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    keys.tab_to("main h2 a")  # the first post link, right after the skip

    # Search from the header box.
    reader.goto("/")
    keys.tab_to("header [role=search] input[type=search], header input[type=search]")
    page.keyboard.type("enqueue")
    keys.follow()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Search")
    keys.tab_to("main h2 a")
    keys.follow()
    expect(page.get_by_role("heading", level=1)).to_have_text(site.image_post.title)

    # Code blocks and wide tables take the focus, so they can be scrolled by keyboard.
    keys.tab_to(".prose pre")
    keys.tab_to(".prose .table-scroll, .prose table")

    # Subscribe from the box under the post, by keyboard alone.
    keys.tab_to("#newsletter-email")
    page.keyboard.type("keyboard.reader@example.com")
    keys.follow()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")

    # The manage page: choose one series and save, by keyboard alone.
    subscriber = Subscriber.objects.create(
        email="keys@example.com",
        status=Subscriber.Status.CONFIRMED,
        consent_at=timezone.now(),
        consent_page="/",
        consent_wording="Subscribe to newsletter",
        confirmed_at=timezone.now(),
    )
    reader.goto(reverse("newsletter:manage", args=[make_manage_token(subscriber)]))
    keys.tab_to("input[type=radio]")
    # Arrow keys move within a radio group: to "Only what I choose".
    while not page.get_by_label("Only what I choose").is_checked():
        keys.press("ArrowDown")
    keys.tab_to("fieldset fieldset input[type=checkbox]")
    keys.press("Space")
    keys.tab_to("button[type=submit]")
    keys.follow()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    subscriber.refresh_from_db()
    assert not subscriber.everything
    assert subscriber.series.count() + subscriber.tags.count() == 1

    assert keys.unseen == [], "focused without a visible focus ring:\n" + "\n".join(keys.unseen)
    assert reader.take_problems() == []
    reader.close()
