"""The admin's post editor in a real Chromium, served by gunicorn as production serves it.

Live preview, Ctrl+S, the guard against leaving unsaved words, autosave and the copy kept in the
browser, the keyboard in the body, the counts, the Schedule button, the Content-Security-Policy,
axe, and the layout at desktop and phone widths in light and dark.
"""

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from blog.images import add_image
from blog.models import Post
from tests import image_files
from tests.chromium import launched_chromium, needs_chromium, on_postgresql_only
from tests.test_browser_csp import COLLECT_VIOLATIONS, READ_VIOLATIONS
from tests.web_server import PROJECT_DIR, Gunicorn, database_url

pytestmark = [needs_chromium, on_postgresql_only, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Counts the editor's autosave requests as it makes them, so a test can tell that none was made.
COUNT_AUTOSAVES = """
window.__autosaves = 0;
const originalFetch = window.fetch;
window.fetch = function (url, ...rest) {
  if (String(url).includes("/autosave/")) window.__autosaves += 1;
  return originalFetch.call(this, url, ...rest);
};
"""

MARKDOWN = """\
## Compare and exchange

```python
def swap(state, old, new):
    return state.compare_exchange(old, new)
```

| Ordering | Cost |
| --- | --- |
| Relaxed | low |
"""


@pytest.fixture(scope="module")
def served_database_url(django_db_setup, tmp_path_factory):
    """The database gunicorn serves, which this module's own ORM calls read and write too.

    On PostgreSQL it is the test database. On SQLite that one is in memory, out of gunicorn's
    reach: a migrated file takes its place, and the tests' connection is pointed at it for this
    module (the transactional tests flush it after each test, as they would the test database).
    """
    if connection.vendor == "postgresql":
        yield database_url(connection.settings_dict)
        return
    path = tmp_path_factory.mktemp("editor-sqlite") / "db.sqlite3"
    url = f"sqlite:///{path}"
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SECRET_KEY": "migrate", "DATABASE_URL": url},
        check=True,
    )
    in_memory = connections["default"]
    served = in_memory.__class__({**in_memory.settings_dict, "NAME": str(path)}, "default")
    connections["default"] = served
    try:
        yield url
    finally:
        served.close()
        connections["default"] = in_memory


@pytest.fixture(scope="module")
def admin_static_root(tmp_path_factory):
    """collectstatic's output with the admin's files: the editor is an admin page."""
    root = tmp_path_factory.mktemp("editor-static")
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT_DIR,
        env={**os.environ, "DJANGO_SECRET_KEY": "collect", "DJANGO_STATIC_ROOT": str(root)},
        check=True,
    )
    return root


@pytest.fixture
def server(transactional_db, tmp_path, served_database_url, admin_static_root):
    """gunicorn for one test: each test's database is flushed after it, content types and all,
    so workers that had cached the old content types' ids would fail the admin's log entries."""
    (tmp_path / "server").mkdir()
    server = Gunicorn(
        tmp_path / "server",
        {
            "DATABASE_URL": served_database_url,
            "CACHE_DIR": str(tmp_path / "cache"),
            "MEDIA_ROOT": str(tmp_path / "media"),  # the test's own, as conftest's media_root
            "DJANGO_STATIC_ROOT": str(admin_static_root),
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            # A gunicorn a test: one worker starts in half the time, and one browser needs no more.
            "WEB_CONCURRENCY": "1",
        },
    )
    server.url = f"http://127.0.0.1:{server.port}"
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as browser:
        yield browser


class Author:
    """A browser context signed in to the admin, recording what the CSP refused and any script
    error."""

    def __init__(self, browser, server, user, **options):
        self.context = browser.new_context(base_url=server.url, **{"viewport": DESKTOP, **options})
        self.context.add_init_script(COLLECT_VIOLATIONS)
        self.context.add_init_script(COUNT_AUTOSAVES)
        # A session made here is good in gunicorn too: same database, same secret key.
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        self.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": server.url}]
        )
        self.problems = []

    def new_page(self):
        page = self.context.new_page()
        page.on("console", self._record_console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        return page

    def _record_console(self, message):
        if "Content Security Policy" in message.text:
            self.problems.append(f"{message.text} ({message.location['url']})")

    def open(self, path):
        page = self.new_page()
        response = page.goto(path)
        assert response.status == 200, path
        assert response.header_value("Content-Security-Policy"), path
        return page

    def violations(self, page):
        page.wait_for_load_state("load")
        return page.evaluate(READ_VIOLATIONS) + self.problems


@pytest.fixture
def sign_in(browser, server, admin_user):
    contexts = []

    def sign_in(**options):
        author = Author(browser, server, admin_user, **options)
        contexts.append(author.context)
        return author

    yield sign_in
    for context in contexts:
        context.close()


@pytest.fixture
def signed_in(sign_in):
    return sign_in()


@pytest.fixture
def published_post(make_post):
    return make_post(title="Compare and exchange", body="The words readers have now.")


@pytest.fixture
def draft(make_post):
    return make_post(title="Half written", body="First words.", status=Post.Status.DRAFT)


def change_url(post):
    return reverse("admin:blog_post_change", args=[post.pk])


def stored(post):
    """(number of posts, the post's body, its updated_at), as the database has them now."""
    fresh = Post.objects.get(pk=post.pk)
    return Post.objects.count(), fresh.body, fresh.updated_at


def axe_violations(page, selector, *, rules=None, exclude=()):
    """axe's serious and critical violations within `selector` (less `exclude`), as
    "rule (impact): targets" lines."""
    axe = pytest.importorskip("axe_playwright_python.base", reason="needs axe-playwright-python")
    page.evaluate(axe.AXE_SCRIPT)
    # The preview and email frames are sandboxed without scripts: axe could not run inside them.
    options = {"resultTypes": ["violations"], "iframes": False}
    if rules:
        options["runOnly"] = rules
    results = page.evaluate(
        "([context, options]) => axe.run(context, options)",
        [{"include": [selector], "exclude": list(exclude)}, options],
    )
    return [
        f"{violation['id']} ({violation['impact']}): "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in {"serious", "critical"}
    ]


def preview_frame(page):
    return page.frame_locator("[data-editor-frame]")


def expect_rendered_markdown(page):
    frame = preview_frame(page)
    expect(frame.get_by_role("heading", name="Compare and exchange")).to_be_visible()
    # Pygments marks the keyword and the function's name.
    expect(frame.locator(".highlight .k", has_text="def")).to_be_visible()
    expect(frame.locator(".highlight .nf", has_text="swap")).to_be_visible()
    expect(frame.get_by_role("cell", name="Relaxed")).to_be_visible()


# Preview


def test_typing_shows_the_preview_beside_the_body_without_saving(signed_in, published_post):
    before = stored(published_post)
    page = signed_in.open(change_url(published_post))
    body = page.get_by_label("Body:")
    body.fill(MARKDOWN)

    expect_rendered_markdown(page)
    expect(page.get_by_role("tab", name="Preview")).to_be_hidden()
    body_box = body.bounding_box()
    frame_box = page.locator("[data-editor-frame]").bounding_box()
    assert frame_box["x"] >= body_box["x"] + body_box["width"]
    assert abs(frame_box["y"] - body_box["y"]) < body_box["height"]
    assert stored(published_post) == before


def test_phone_shows_the_preview_through_the_write_and_preview_tabs(sign_in, published_post):
    before = stored(published_post)
    page = sign_in(viewport=PHONE, is_mobile=True, has_touch=True).open(change_url(published_post))
    body = page.get_by_label("Body:")
    body.fill(MARKDOWN)
    expect(page.locator("[data-editor-frame]")).to_be_hidden()

    page.get_by_role("tab", name="Preview").click()
    expect(page.get_by_role("tab", name="Preview")).to_have_attribute("aria-selected", "true")
    expect(body).to_be_hidden()
    expect_rendered_markdown(page)

    page.get_by_role("tab", name="Write").click()
    expect(body).to_be_visible()
    expect(body).to_have_value(MARKDOWN)
    assert stored(published_post) == before


# Saving and leaving


def test_ctrl_s_saves_a_draft_and_stays_on_its_form(signed_in, draft):
    page = signed_in.open(change_url(draft))
    body = page.get_by_label("Body:")
    body.fill("Words saved with the keyboard.")
    with page.expect_navigation():
        body.press("Control+s")

    expect(page.locator(".messagelist")).to_contain_text("Saved as a draft")
    assert page.url.endswith(change_url(draft))
    expect(page.get_by_label("Body:")).to_have_value("Words saved with the keyboard.")
    draft.refresh_from_db()
    assert (draft.body, draft.status) == ("Words saved with the keyboard.", Post.Status.DRAFT)


def test_leaving_with_unsaved_words_asks_first(signed_in, published_post):
    page = signed_in.open(change_url(published_post))
    dialogs = []

    def stay(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_label("Body:").press_sequentially(" More")
    page.locator(".breadcrumbs").get_by_role("link", name="Posts").click()

    assert dialogs == ["beforeunload"]
    assert page.url.endswith(change_url(published_post))
    expect(page.get_by_label("Body:")).to_have_value(re.compile(" More"))


def test_leaving_without_changes_asks_nothing(signed_in, published_post):
    page = signed_in.open(change_url(published_post))
    dialogs = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.type) or dialog.dismiss())
    page.get_by_label("Body:").click()  # the page has been used, so it may ask
    page.locator(".breadcrumbs").get_by_role("link", name="Posts").click()
    page.wait_for_url("**" + reverse("admin:blog_post_changelist"))
    assert dialogs == []


# Autosave and the copy kept in the browser


def test_autosaved_new_draft_survives_closing_the_tab(signed_in):
    page = signed_in.open(reverse("admin:blog_post_add"))
    page.get_by_label("Title:").press_sequentially("Notes on backpressure")
    page.get_by_label("Body:").fill("Queues fill up when producers outrun consumers.")
    expect(page.locator("[data-editor-saved]")).to_have_text(re.compile(r"Saved \d\d:\d\d"))

    post = Post.objects.get()
    assert page.url.endswith(change_url(post))
    page.close()
    assert (post.title, post.slug, post.status) == (
        "Notes on backpressure",
        "notes-on-backpressure",
        Post.Status.DRAFT,
    )
    assert not Post.objects.published().exists()

    listing = signed_in.open(reverse("admin:blog_post_changelist"))
    expect(listing.get_by_role("link", name="Notes on backpressure")).to_be_visible()
    listing.get_by_role("link", name="Notes on backpressure").click()
    expect(listing.get_by_label("Body:")).to_have_value(
        "Queues fill up when producers outrun consumers."
    )


def test_published_post_is_not_autosaved_but_its_words_are_offered_back(signed_in, published_post):
    before = stored(published_post)
    signed_in.context.clock.install()
    page = signed_in.open(change_url(published_post))
    page.get_by_label("Body:").fill("Words not ready for readers yet.")
    page.clock.run_for(10_000)  # past every pause the editor waits for before saving anything

    assert page.evaluate("window.__autosaves") == 0
    assert "Saved" not in page.locator("[data-editor-saved]").inner_text()
    key = f"post-editor:{published_post.pk}"
    assert "Words not ready" in page.evaluate("(key) => localStorage.getItem(key)", key)
    page.close()
    assert stored(published_post) == before

    page = signed_in.open(change_url(published_post))
    body = page.get_by_label("Body:")
    expect(body).to_have_value("The words readers have now.")
    page.get_by_role("button", name="Put them back in the editor").click()
    expect(body).to_have_value("Words not ready for readers yet.")
    expect(page.get_by_role("button", name="Put them back in the editor")).to_be_hidden()
    page.clock.run_for(10_000)
    assert page.evaluate("window.__autosaves") == 0
    assert stored(published_post) == before
    assert Post.objects.published().get().body == "The words readers have now."


# The keyboard, the counts and the buttons


def test_tab_indents_shift_tab_outdents_and_escape_then_tab_leaves(signed_in, draft):
    page = signed_in.open(change_url(draft))
    body = page.get_by_label("Body:")
    body.fill("first line\nsecond line")
    body.press("Control+Home")
    body.press("Tab")
    expect(body).to_have_value("    first line\nsecond line")
    expect(body).to_be_focused()

    body.press("Control+a")
    body.press("Tab")
    expect(body).to_have_value("        first line\n    second line")
    body.press("Shift+Tab")
    expect(body).to_have_value("    first line\nsecond line")
    body.press("Shift+Tab")
    expect(body).to_have_value("first line\nsecond line")

    body.press("Escape")
    body.press("Tab")
    expect(page.locator("[data-editor-frame]")).to_be_focused()  # the next stop beside it
    expect(body).to_have_value("first line\nsecond line")


def test_word_count_and_reading_time_follow_the_typing(signed_in):
    page = signed_in.open(reverse("admin:blog_post_add"))
    count = page.locator("[data-editor-count]")
    expect(count).to_have_text("0 words · 1 min read")
    body = page.get_by_label("Body:")
    body.press_sequentially("one two three")
    expect(count).to_have_text("3 words · 1 min read")
    body.fill(" ".join(["word"] * 231))
    expect(count).to_have_text("231 words · 2 min read")


def local_input_time(moment):
    return f"{timezone.localtime(moment):%Y-%m-%dT%H:%M}"


def test_schedule_button_shows_only_for_a_publish_time_to_come(signed_in, draft):
    page = signed_in.open(change_url(draft))
    schedule = page.get_by_role("button", name="Schedule")
    time = page.get_by_label("Publish time:")
    expect(page.get_by_role("button", name="Publish now")).to_be_visible()
    expect(schedule).to_be_hidden()

    time.fill(local_input_time(timezone.now() + timedelta(days=2)))
    expect(schedule).to_be_visible()
    time.fill(local_input_time(timezone.now() - timedelta(days=2)))
    expect(schedule).to_be_hidden()


# The Content-Security-Policy and axe on every page the editor adds


@pytest.fixture
def post_with_revisions(make_post, tag, series):
    post = make_post(
        title="Compare and exchange",
        body=MARKDOWN,
        status=Post.Status.DRAFT,
        tags=[tag],
        series=series,
        series_part=1,
    )
    image, _ = add_image(
        ContentFile(image_files.jpeg(width=1200, height=600), name="chart.jpg"),
        user=post.author,
        alt_text="A chart of queue depth",
        caption="Queue depth over a day",
    )
    post.body = MARKDOWN + f"\nOne more paragraph.\n\n![A chart]({image.url})\n"
    post.save()
    return post


EDITOR_PAGES = {
    "add form": (lambda post: reverse("admin:blog_post_add"), ".post-form"),
    "change form": (change_url, ".post-form"),
    "revisions": (lambda post: reverse("admin:blog_post_history", args=[post.pk]), ".revisions"),
    "revision diff": (
        lambda post: reverse(
            "admin:blog_post_revision",
            args=[post.pk, post.history.order_by("history_date").first().history_id],
        ),
        ".revision",
    ),
    "email preview": (
        lambda post: reverse("admin:blog_post_email_preview", args=[post.pk]),
        ".email-preview",
    ),
    "import": (lambda post: reverse("admin:blog_post_import"), "#content-main"),
}
IMAGE_LIBRARY_PAGES = {
    "image library": (lambda post: reverse("admin:blog_image_changelist"), "#content"),
    "image upload": (lambda post: reverse("admin:blog_image_add"), "#content-main"),
    "image": (
        lambda post: reverse("admin:blog_image_change", args=[post.images.get().pk]),
        "#content-main",
    ),
    "image in use, delete": (
        lambda post: reverse("admin:blog_image_delete", args=[post.images.get().pk]),
        "#content",
    ),
}
# Django's autocomplete widget (select2) fails three axe rules of its own: its tag search box has
# no label ("label"), its list of chosen tags holds more than list items ("list"), and its empty
# single select has no name ("aria-input-field-name"). Django's breadcrumbs fail
# "link-in-text-block". Neither is this project's markup, so axe looks only at what it adds.
NOT_OURS = [".select2-container"]


def expect_editor_ready(page):
    if page.locator(".post-editor").count():
        expect(page.locator(".post-editor--split")).to_be_visible()
        expect(page.locator("[data-editor-count]")).not_to_be_empty()


@pytest.mark.parametrize("name", EDITOR_PAGES)
def test_editor_page_runs_without_content_security_policy_violations(
    signed_in, post_with_revisions, name
):
    path, _ = EDITOR_PAGES[name]
    page = signed_in.open(path(post_with_revisions))
    expect_editor_ready(page)
    if name == "change form":
        expect(preview_frame(page).get_by_role("cell", name="Relaxed")).to_be_visible()
    assert signed_in.violations(page) == []


@pytest.mark.parametrize("name", EDITOR_PAGES)
def test_editor_page_has_no_serious_accessibility_violations(sign_in, post_with_revisions, name):
    path, scope = EDITOR_PAGES[name]
    # axe tries styles inline as it checks contrast; the CSP has its own test above.
    page = sign_in(bypass_csp=True).open(path(post_with_revisions))
    expect_editor_ready(page)
    assert axe_violations(page, scope, exclude=NOT_OURS) == []


def test_image_library_pages_pass_csp_and_axe_and_fit_a_320_px_screen(sign_in, post_with_revisions):
    # One server for the four plain admin pages: each check is the same as the editor's own.
    desktop, for_axe = sign_in(), sign_in(bypass_csp=True)
    phone = sign_in(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    for name, (path, scope) in IMAGE_LIBRARY_PAGES.items():
        url = path(post_with_revisions)
        assert desktop.violations(desktop.open(url)) == [], name
        assert axe_violations(for_axe.open(url), scope) == [], name
        width = phone.open(url).evaluate("document.documentElement.scrollWidth")
        assert width <= 320, name


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_editor_and_its_buttons_are_readable_in_light_and_dark(
    sign_in, post_with_revisions, color_scheme
):
    page = sign_in(color_scheme=color_scheme, bypass_csp=True).open(change_url(post_with_revisions))
    expect_editor_ready(page)
    page.get_by_label("Publish time:").fill(local_input_time(timezone.now() + timedelta(days=1)))
    expect(page.get_by_role("button", name="Schedule")).to_be_visible()
    assert axe_violations(page, ".post-form", rules=["color-contrast"], exclude=NOT_OURS) == []


# Layout


def box_in_viewport(page, locator):
    """Whether the element is inside the window and on top at its centre: seen, not scrolled to."""
    return locator.evaluate(
        """(element) => {
            const box = element.getBoundingClientRect();
            const inside = box.width > 0 && box.top >= 0 && box.left >= 0
                && box.bottom <= window.innerHeight && box.right <= window.innerWidth;
            const onTop = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
            return inside && (element === onTop || element.contains(onTop));
        }"""
    )


@pytest.mark.parametrize("add", [True, False], ids=["add form", "change form"])
def test_desktop_form_shows_its_fields_and_buttons_without_scrolling(signed_in, draft, add):
    page = signed_in.open(reverse("admin:blog_post_add") if add else change_url(draft))
    expect_editor_ready(page)
    shown = [
        page.get_by_label("Title:"),
        page.get_by_label("Slug:"),
        page.get_by_label("Summary:"),
        page.locator(".field-tags .related-widget-wrapper"),
        page.locator(".field-series .related-widget-wrapper"),
        *page.locator(".post-form__buttons button:visible").all(),
    ]
    assert len(shown) == 7  # Save draft and Publish now; Schedule waits for a time to come
    assert page.evaluate("window.scrollY") == 0
    assert [box_in_viewport(page, locator) for locator in shown] == [True] * len(shown)


@pytest.mark.parametrize("add", [True, False], ids=["add form", "change form"])
def test_phone_form_fits_the_width_and_every_control_is_reachable(sign_in, draft, add):
    author = sign_in(viewport=PHONE, is_mobile=True, has_touch=True)
    page = author.open(reverse("admin:blog_post_add") if add else change_url(draft))
    expect(page.get_by_role("tab", name="Write")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    outside = page.evaluate(
        """() => [...document.querySelectorAll(
                "#post_form input:not([type=hidden]), #post_form textarea, #post_form select,"
                + " #post_form button, #post_form a[href], #post_form [role=combobox]")]
            .filter((element) => element.getClientRects().length)
            .map((element) => [element.id || element.name || element.textContent.trim(),
                               element.getBoundingClientRect()])
            .filter(([, box]) => box.left < 0 || box.right > window.innerWidth)
            .map(([name]) => name)"""
    )
    assert outside == []
    page.get_by_role("button", name="Save draft").scroll_into_view_if_needed()
    assert box_in_viewport(page, page.get_by_role("button", name="Save draft"))


@pytest.mark.parametrize("name", EDITOR_PAGES)
def test_editor_page_fits_a_320_px_screen(sign_in, post_with_revisions, name):
    url, _ = EDITOR_PAGES[name]
    author = sign_in(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    page = author.open(url(post_with_revisions))
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
