"""The outage, search and admin lockout pages in a real Chromium on a 320 px wide phone."""

import pytest
from django.db import OperationalError
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns
from tests.chromium import launched_chromium, needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

NARROWEST = 320
SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"


def unreachable(request):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')


urlpatterns = [path("unreachable/", unreachable), *site_urlpatterns]


@pytest.fixture
def narrow_page(live_server, settings):
    settings.ROOT_URLCONF = __name__
    with launched_chromium() as browser:
        context = browser.new_context(
            java_script_enabled=False,
            base_url=live_server.url,
            viewport={"width": NARROWEST, "height": 640},
        )
        yield context.new_page()


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("/unreachable/", "Back in a moment"),
        ("/search/?q=" + "-" * 40, "No posts match"),
        ("/newsletter/", "Subscribe"),
    ],
)
def test_page_with_the_site_header_fits_the_narrowest_phone(narrow_page, address, words):
    narrow_page.goto(address)
    assert narrow_page.get_by_text(words).first.is_visible()
    assert not narrow_page.evaluate(SCROLLS_SIDEWAYS)


def test_login_lockout_page_fits_the_narrowest_phone(narrow_page, author):
    for _ in range(5):
        narrow_page.goto("/admin/login/")
        narrow_page.get_by_label("Username").fill(author.username)
        narrow_page.get_by_label("Password").fill("wrong")
        narrow_page.get_by_role("button", name="Log in").click()
    assert narrow_page.get_by_role("heading", name="Too many login attempts").is_visible()
    assert not narrow_page.evaluate(SCROLLS_SIDEWAYS)
