"""End to end in a real Chromium with JavaScript off: reading and subscribing need none."""

import shutil

import pytest
from django.core import mail
from django.db import connections

from newsletter.models import Subscriber
from newsletter.tokens import make_unsubscribe_token

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
def page(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between page actions are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(java_script_enabled=False, base_url=live_server.url)
        yield context.new_page()
        browser.close()
        # Inside Playwright's event loop the ORM keeps a connection of its own; close it too.
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_reader_subscribes_confirms_and_unsubscribes_without_javascript(
    page, make_post, run_tasks, link_in
):
    post = make_post(title="Backpressure, explained")
    page.goto("/")
    page.get_by_role("link", name="Backpressure, explained").click()
    assert page.get_by_role("heading", name="Backpressure, explained").is_visible()

    page.get_by_label("Email address").fill("reader@example.com")
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_role("heading", name="Check your inbox").is_visible()

    run_tasks()
    page.goto(link_in(mail.outbox[-1], "confirm"))
    page.get_by_role("button", name="Confirm subscription").click()
    assert page.get_by_role("heading", name="You are subscribed").is_visible()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert subscriber.consent_page == post.get_absolute_url()

    page.goto(f"/newsletter/unsubscribe/{make_unsubscribe_token(subscriber)}/")
    page.get_by_role("button", name="Unsubscribe").click()
    assert page.get_by_role("heading", name="You are unsubscribed").is_visible()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db(transaction=True)
def test_malformed_address_keeps_what_was_typed(page, make_post):
    page.goto("/newsletter/")
    page.get_by_label("Email address").fill("not-an-email")
    # The browser's own check would stop the form; a reader without it gets the server's answer.
    page.locator("form.subscribe-form").evaluate("form => form.noValidate = true")
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_text("Enter a valid email address.").is_visible()
    assert page.get_by_label("Email address").input_value() == "not-an-email"
