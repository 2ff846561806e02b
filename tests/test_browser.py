"""End to end in a real Chromium with JavaScript off: reading and subscribing need none."""

import re

import pytest
from django.core import mail
from django.core.signals import request_started

from core.speculation import CSP_HASH
from newsletter.models import Subscriber
from newsletter.tokens import make_unsubscribe_token
from tests.chromium import launched_chromium, needs_chromium

pytestmark = needs_chromium


@pytest.fixture
def browser(live_server):
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, live_server):
    return browser.new_context(java_script_enabled=False, base_url=live_server.url).new_page()


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        java_script_enabled=False,
        base_url=live_server.url,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
    )
    return context.new_page()


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


@pytest.mark.django_db(transaction=True)
def test_reader_searches_from_the_header_box(page, make_post):
    make_post(title="Atomics", body="```rust\nself.state.compare_exchange(a, b)\n```")
    make_post(title="Queues", body="Nothing about atomics here.")
    page.goto("/")
    page.get_by_role("searchbox", name="Search posts").fill("compare_exchange")
    page.get_by_role("searchbox", name="Search posts").press("Enter")
    assert page.get_by_text("1 post matches").is_visible()
    assert page.get_by_role("link", name="Atomics").is_visible()
    assert page.locator(".search-result__snippet mark").count() >= 1


@pytest.mark.django_db(transaction=True)
def test_long_code_lines_scroll_inside_their_block_on_a_phone(phone_page, make_post):
    long_line = "let answer = " + " + ".join(f"value_{n}" for n in range(40)) + ";"
    post = make_post(body=f"Words before.\n\n```rust\n{long_line}\n```\n\nWords after.")
    phone_page.goto(post.get_absolute_url())
    assert phone_page.locator("html").evaluate("html => html.scrollWidth") <= 360
    pre = phone_page.locator(".post-body pre")
    assert pre.evaluate("pre => pre.scrollWidth") > pre.evaluate("pre => pre.clientWidth")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("script_source", "violations"), [(CSP_HASH, 0), ("'none'", 1)])
def test_speculation_rules_run_under_a_strict_content_security_policy(
    browser, live_server, make_post, script_source, violations
):
    make_post(title="Prerendered")
    page = browser.new_context(base_url=live_server.url).new_page()
    policy = f"default-src 'self'; script-src {script_source}; object-src 'none'"

    def with_policy(route):
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": policy}
        )

    page.route(re.compile(r".*/$"), with_policy)
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto("/")
    page.wait_for_load_state("networkidle")
    refused = [text for text in messages if "Content Security Policy" in text]
    assert len(refused) == violations, messages
    assert page.evaluate("HTMLScriptElement.supports('speculationrules')")


@pytest.mark.django_db(transaction=True)
def test_hovering_a_post_link_prerenders_the_post(browser, live_server, make_post):
    post = make_post(title="Prerendered")
    prerendered = []

    def record(sender, environ, **kwargs):
        if "prerender" in environ.get("HTTP_SEC_PURPOSE", ""):
            prerendered.append(environ["PATH_INFO"])

    request_started.connect(record)
    try:
        page = browser.new_context(base_url=live_server.url).new_page()
        page.goto("/")
        page.get_by_role("link", name="Prerendered").hover()
        page.wait_for_timeout(200)
        for _ in range(30):
            if prerendered:
                break
            page.wait_for_timeout(100)
    finally:
        request_started.disconnect(record)
    assert prerendered == [post.get_absolute_url()]
