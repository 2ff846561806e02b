"""Every page works in a real Chromium under the Content-Security-Policy the site sends."""

import pytest
from django.urls import reverse

from blog.models import Post
from tests.chromium import launched_chromium, needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

# Runs before any script of the page, so it also sees what the parser refuses.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""
# Violation events are queued as tasks; a zero timeout runs after those already queued.
READ_VIOLATIONS = "() => new Promise((resolve) => setTimeout(() => resolve(window.__csp), 0))"

CODE_AND_CONTENTS = """\
## Setting up

Words.

```python
def compare_exchange(state, a, b):
    return state.compare_exchange(a, b)
```

## Running it

More words.

## Results

The end.
"""


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as browser:
        yield browser


class WatchedPage:
    """A page that records what the Content-Security-Policy refused."""

    def __init__(self, page):
        self.page = page
        self.console = []
        page.on("console", self._record_console)

    def _record_console(self, message):
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def goto(self, path):
        self.console.clear()
        response = self.page.goto(path)
        assert response.status == 200, path
        assert response.header_value("Content-Security-Policy"), path

    def violations(self):
        self.page.wait_for_load_state("load")
        return self.page.evaluate(READ_VIOLATIONS) + self.console


@pytest.fixture
def watched(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(COLLECT_VIOLATIONS)
    yield WatchedPage(context.new_page())
    context.close()


@pytest.fixture
def public_site(make_post, tag, series):
    post = make_post(
        title="Compare and exchange",
        slug="compare-and-exchange",
        body=CODE_AND_CONTENTS,
        tags=[tag],
        series=series,
        series_part=1,
    )
    make_post(title="Second part", series=series, series_part=2, tags=[tag])
    return post


@pytest.fixture
def staff_page(watched, admin_user):
    watched.goto(reverse("admin:login"))
    watched.page.get_by_label("Username").fill(admin_user.username)
    watched.page.get_by_label("Password").fill("password")
    watched.page.get_by_role("button", name="Log in").click()
    watched.page.wait_for_url("**/admin/")
    return watched


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/posts/compare-and-exchange/",
        "/tags/concurrency/",
        "/series/model-checking/",
        "/search/?q=compare_exchange",
        "/newsletter/",
        "/admin/login/",
    ],
)
def test_page_runs_without_content_security_policy_violations(watched, public_site, path):
    watched.goto(path)
    assert watched.violations() == []


def test_post_page_shows_its_code_block_and_contents(watched, public_site):
    watched.goto(public_site.get_absolute_url())
    watched.page.locator(".post-toc summary").click()
    assert watched.page.locator(".post-toc").get_by_role("link", name="Running it").is_visible()
    assert watched.page.locator(".post-body .highlight pre").is_visible()
    assert watched.violations() == []


def test_search_page_lists_the_matching_post(watched, public_site):
    watched.goto("/search/?q=compare_exchange")
    assert watched.page.get_by_role("link", name="Compare and exchange").is_visible()
    assert watched.violations() == []


def test_speculation_rules_are_allowed_by_the_policy_the_site_sends(watched, public_site):
    watched.goto("/")
    assert watched.page.evaluate("!!document.querySelector('script[type=speculationrules]')")
    assert watched.page.evaluate("HTMLScriptElement.supports('speculationrules')")
    assert watched.violations() == []


@pytest.mark.parametrize(
    "url_name",
    ["admin:index", "admin:blog_post_changelist", "admin:newsletter_subscriber_changelist"],
)
def test_admin_page_runs_without_content_security_policy_violations(
    staff_page, public_site, make_subscriber, url_name
):
    make_subscriber("reader@example.com")
    staff_page.goto(reverse(url_name))
    assert staff_page.violations() == []


def test_admin_post_change_form_runs_without_violations(staff_page, public_site):
    staff_page.goto(reverse("admin:blog_post_change", args=[public_site.pk]))
    assert staff_page.page.get_by_label("Title:").input_value() == "Compare and exchange"
    assert staff_page.violations() == []


def test_admin_add_form_fills_the_slug_from_the_title_under_the_policy(staff_page):
    staff_page.goto(reverse("admin:blog_post_add"))
    staff_page.page.get_by_label("Title:").press_sequentially("Hello CSP world")
    assert staff_page.page.get_by_label("Slug:").input_value() == "hello-csp-world"
    assert staff_page.violations() == []


def test_admin_view_on_site_previews_a_draft_without_violations(staff_page, make_post):
    draft = make_post(title="Unfinished thoughts", status=Post.Status.DRAFT)
    staff_page.goto(reverse("admin:blog_post_change", args=[draft.pk]))
    staff_page.page.get_by_role("link", name="View on site").click()
    staff_page.page.wait_for_url(f"**{draft.get_absolute_url()}")
    assert staff_page.page.get_by_text("Draft: only staff can see this page.").is_visible()
    assert staff_page.violations() == []
