"""What the end-to-end tests share: the pages to visit, browser contexts that record every
problem a page has, axe, and the checks made on each page."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from blog.models import Image, Post, Series, Tag
from tests.e2e.conftest import AUTHOR_USERNAME, IMAGE_POST_SLUG

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NARROWEST = {"width": 320, "height": 640}

# Runs before any script of the page, so it also sees what the parser refuses; init scripts are
# not subject to the page's Content-Security-Policy.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""
# Violation events are queued as tasks; a zero timeout runs after those already queued.
READ_VIOLATIONS = "() => new Promise((resolve) => setTimeout(() => resolve(window.__csp || []), 0))"
SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"

NOT_FOUND_PATH = "/no-such-page/"

# Django's autocomplete widget (select2) fails axe rules of its own, as tests/test_browser_editor.py
# explains; that markup is not this project's, so axe leaves it out.
NOT_OURS = [".select2-container"]


def series_post_paths():
    """Parts 1, 2 and 3 of the demo's series, in order."""
    series = Series.objects.filter(posts__isnull=False).distinct().order_by("pk").first()
    return [
        post.get_absolute_url()
        for post in Post.objects.filter(series=series).order_by("series_part")
    ]


def public_pages(site):
    """{name: path} for every kind of public page, with the status each must answer."""
    tag = Tag.objects.filter(posts__slug=IMAGE_POST_SLUG).order_by("name").first()
    series = Series.objects.filter(posts__isnull=False).order_by("pk").first()
    return {
        "listing": "/",
        "listing page 2": "/?page=2",
        "post with code and image": f"/posts/{IMAGE_POST_SLUG}/",
        "series post": series_post_paths()[1],
        "tag list": reverse("blog:tag_list"),
        "tag page": tag.get_absolute_url(),
        "series list": reverse("blog:series_list"),
        "series page": series.get_absolute_url(),
        "search results": reverse("blog:search") + "?q=queue",
        "subscribe": reverse("newsletter:subscribe"),
        "check inbox": reverse("newsletter:check_inbox"),
        "manage": reverse("newsletter:manage", args=[site.manage_token]),
        "newsletter archive": reverse("newsletter:archive"),
        "archive": reverse("blog:archive"),
        "author": reverse("blog:author_detail", kwargs={"username": AUTHOR_USERNAME}),
        "not found": NOT_FOUND_PATH,
    }


def admin_pages():
    """{name: (path, the part of the page this project made)} for the admin pages it adds."""
    post = Post.objects.get(slug=IMAGE_POST_SLUG)
    image = Image.objects.order_by("pk").first()
    return {
        "post editor, new": (reverse("admin:blog_post_add"), ".post-form"),
        "post editor": (reverse("admin:blog_post_change", args=[post.pk]), ".post-form"),
        "image library": (reverse("admin:blog_image_changelist"), "#content"),
        "image upload": (reverse("admin:blog_image_add"), "#content-main"),
        "image": (reverse("admin:blog_image_change", args=[image.pk]), "#content-main"),
        "subscribers": (reverse("admin:newsletter_subscriber_changelist"), "#content"),
        "subscriber import": (reverse("admin:newsletter_subscriber_import"), "#content-main"),
        "newsletter issues": (reverse("admin:newsletter_newsletterissue_changelist"), "#content"),
    }


def expected_status(path):
    return 404 if path == NOT_FOUND_PATH else 200


class Watched:
    """A browser context whose pages record console errors, script errors, failed requests and
    what the Content-Security-Policy refused."""

    def __init__(self, browser, site, *, signed_in=False, **options):
        self.site = site
        self.context = browser.new_context(base_url=site.url, **{"viewport": DESKTOP, **options})
        self.context.add_init_script(COLLECT_VIOLATIONS)
        if signed_in:
            sign_in(self.context, site)
        self.problems = []
        # Without scripts there is none to refuse, and no timer to read the violations with.
        self.scripts = options.get("java_script_enabled", True)
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        return page

    def _console(self, message):
        if message.type == "error" and not self._expected_404(message.location.get("url", "")):
            self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def _request_failed(self, request):
        # A navigation that replaces a page aborts what the old page still loaded.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} {request.failure}")

    def _response(self, response):
        if response.status >= 400 and not self._expected_404(response.url):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _expected_404(self, url):
        return url == self.site.url + NOT_FOUND_PATH

    def goto(self, path, page=None):
        page = page or self.page
        response = page.goto(path)
        assert response.status == expected_status(path), (
            f"{path}: {response.status}\n{self.site.server.errors()}"
        )
        return response

    def take_problems(self, page=None):
        """What went wrong on the page since the last call, CSP violations included."""
        page = page or self.page
        page.wait_for_load_state("load")
        violations = page.evaluate(READ_VIOLATIONS) if self.scripts else []
        problems = self.problems + [f"CSP: {v}" for v in violations]
        self.problems = []
        return problems

    def close(self):
        self.context.close()


def sign_in(context, site):
    """Signs the context in as the author: a session made here is good in gunicorn too, as both
    share the database and the secret key."""
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=AUTHOR_USERNAME))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": site.url}])


def axe_results(page, include="html", exclude=()):
    """axe's violations on the page (within `include`, less `exclude`), every impact."""
    axe = pytest.importorskip("axe_playwright_python.base", reason="needs axe-playwright-python")
    page.evaluate(axe.AXE_SCRIPT)
    # Sandboxed frames without scripts (the editor's preview) cannot run axe.
    options = {"resultTypes": ["violations"], "iframes": False}
    results = page.evaluate(
        "([context, options]) => axe.run(context, options)",
        [{"include": [include], "exclude": list(exclude)}, options],
    )
    return results["violations"]


def describe(violation):
    targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:6])
    more = len(violation["nodes"]) - 6
    return f"{violation['id']} ({violation['impact']}): {targets}" + (
        f" and {more} more" if more > 0 else ""
    )


def is_serious(violation):
    return violation["impact"] in {"serious", "critical"}
