import threading
import time
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from newsletter.models import Subscriber
from newsletter.tokens import make_confirm_token, make_unsubscribe_token

PENDING = Subscriber.Status.PENDING
CONFIRMED = Subscriber.Status.CONFIRMED
UNSUBSCRIBED = Subscriber.Status.UNSUBSCRIBED


def subscribe(client, email, *, page="", website="", **meta):
    data = {"email": email, "page": page, "website": website}
    return client.post(reverse("newsletter:subscribe"), data, **meta)


def days_later(days):
    """Signed links are checked as if `days` had passed since now."""
    return mock.patch("django.core.signing.time.time", return_value=time.time() + days * 86_400)


def only_subscriber():
    (subscriber,) = Subscriber.objects.all()
    return subscriber


@pytest.fixture
def unsubscribe_token(make_subscriber):
    return make_unsubscribe_token(make_subscriber("ada@example.com"))


@pytest.fixture
def unsubscribe_path(unsubscribe_token):
    return reverse("newsletter:unsubscribe", args=[unsubscribe_token])


@pytest.fixture
def sign_up(client, run_tasks, link_in):
    """Subscribe through the form, let the worker send the email, return its confirm link."""

    def sign_up(email="ada@example.com"):
        assert subscribe(client, email).status_code == 303
        run_tasks()
        return link_in(mail.outbox[-1], "confirm")

    return sign_up


PAGES_WITH_BOX = ["blog:post_list", "blog:post_detail", "newsletter:subscribe"]


def get_page(client, route, make_post):
    if route == "blog:post_detail":
        return client.get(make_post().get_absolute_url())
    return client.get(reverse(route))


@pytest.mark.parametrize("route", PAGES_WITH_BOX)
def test_subscribe_box_has_heading_email_field_and_button(client, make_post, route):
    response = get_page(client, route, make_post)
    content = response.content.decode()
    assert response.status_code == 200
    assert "Subscribe to newsletter" in content
    assert 'type="email" name="email"' in content
    assert '<button type="submit">Subscribe</button>' in content


@pytest.mark.parametrize("route", PAGES_WITH_BOX)
def test_subscribe_form_posts_to_newsletter_without_csrf_token(client, make_post, route):
    content = get_page(client, route, make_post).content.decode()
    assert f'<form method="post" action="{reverse("newsletter:subscribe")}"' in content
    assert "csrfmiddlewaretoken" not in content


def test_subscribe_box_comes_after_the_post(client, make_post):
    content = client.get(make_post().get_absolute_url()).content.decode()
    assert content.index("</article>") < content.index('class="newsletter-box"')


def test_subscribe_redirects_to_check_your_inbox(client, db):
    response = subscribe(client, "ada@example.com")
    assert response.status_code == 303
    assert response["Location"] == reverse("newsletter:check_inbox")
    assert "Check your inbox" in client.get(response["Location"]).content.decode()


def test_subscribe_sends_one_confirmation_email_in_text_and_html(client, run_tasks, link_in):
    subscribe(client, "ada@example.com")
    run_tasks()
    (message,) = mail.outbox
    confirm_path = link_in(message, "confirm")
    assert message.to == ["ada@example.com"]
    assert confirm_path.startswith("/newsletter/confirm/")
    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    assert confirm_path in html


def test_confirm_link_get_shows_button_and_does_not_confirm(client, sign_up):
    response = client.get(sign_up())
    assert response.status_code == 200
    assert "Confirm subscription</button>" in response.content.decode()
    assert only_subscriber().status == PENDING


def test_confirm_link_post_confirms_and_page_says_subscribed(client, sign_up):
    path = sign_up()
    response = client.post(path)
    assert response.status_code == 302
    subscriber = only_subscriber()
    assert subscriber.status == CONFIRMED
    assert subscriber.confirmed_at is not None
    assert "You are subscribed" in client.get(response["Location"]).content.decode()


def test_confirm_link_used_twice_is_harmless(client, sign_up):
    path = sign_up()
    opened = [client.get(path), client.get(path), client.post(path), client.post(path)]
    assert [response.status_code for response in opened] == [200, 200, 302, 302]
    assert client.get(path).status_code == 200
    assert only_subscriber().status == CONFIRMED


def test_confirm_link_still_works_after_six_days(client, sign_up):
    path = sign_up()
    with days_later(6):
        assert client.post(path).status_code == 302
    assert only_subscriber().status == CONFIRMED


def test_expired_confirm_link_is_410_with_prefilled_subscribe_form(client, sign_up):
    path = sign_up("ada@example.com")
    with days_later(7.01):
        response = client.get(path)
    content = response.content.decode()
    assert response.status_code == 410
    assert "This confirmation link has expired" in content
    assert f'action="{reverse("newsletter:subscribe")}"' in content
    assert 'value="ada@example.com"' in content


def test_post_on_expired_confirm_link_does_not_confirm(client, sign_up):
    path = sign_up()
    with days_later(8):
        assert client.post(path).status_code == 410
    assert only_subscriber().status == PENDING


@pytest.mark.parametrize("status", [None, PENDING, CONFIRMED, UNSUBSCRIBED])
def test_every_address_gets_the_same_check_your_inbox_response(client, make_subscriber, status):
    if status is not None:
        make_subscriber("ada@example.com", status=status)
    response = subscribe(client, "ada@example.com")
    assert response.status_code == 303
    assert response["Location"] == reverse("newsletter:check_inbox")
    assert response.content == b""


def test_confirmed_address_gets_already_subscribed_email(client, make_subscriber, run_tasks):
    make_subscriber("ada@example.com")
    subscribe(client, "ada@example.com")
    run_tasks()
    (message,) = mail.outbox
    assert "You are already subscribed" in message.body
    assert "/newsletter/confirm/" not in message.body
    assert only_subscriber().status == CONFIRMED


def test_unsubscribed_address_can_subscribe_again_and_must_confirm(
    client, make_subscriber, sign_up
):
    make_subscriber("ada@example.com", status=UNSUBSCRIBED, unsubscribed_at=timezone.now())
    path = sign_up("ada@example.com")
    assert len(mail.outbox) == 1
    assert only_subscriber().status == PENDING
    assert only_subscriber().unsubscribed_at is None
    assert only_subscriber().confirmed_at is None
    client.post(path)
    assert only_subscriber().status == CONFIRMED


def test_address_case_is_ignored_when_subscribing_twice(client, run_tasks):
    subscribe(client, "Ada@Example.com")
    subscribe(client, "ada@example.COM")
    run_tasks()
    assert only_subscriber().email == "Ada@Example.com"
    assert len(mail.outbox) == 2


def test_database_rejects_second_address_differing_only_in_case(make_subscriber):
    make_subscriber("ada@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_subscriber("ADA@example.com")


def test_internationalised_domain_in_capitals_can_subscribe_twice(client, run_tasks):
    assert subscribe(client, "ada@BÜCHER.example").status_code == 303
    assert subscribe(client, "ada@BÜCHER.example").status_code == 303
    assert Subscriber.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_subscribes_of_one_address_make_one_row(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks and concurrent writers")
    settings.NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY = 100
    threads = 8
    barrier = threading.Barrier(threads, timeout=30)

    def post_at_once(_):
        client = Client()
        try:
            barrier.wait()
            return subscribe(client, "ada@example.com").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(post_at_once, range(threads)))
    assert statuses == [303] * threads
    assert Subscriber.objects.count() == 1


MALFORMED = [
    pytest.param("not-an-email", id="no-at"),
    pytest.param("a@", id="no-domain"),
    pytest.param("a" * 288 + "@example.com", id="300-characters"),
    pytest.param("ada\x00@example.com", id="nul-character"),
]


@pytest.mark.parametrize("typed", MALFORMED)
def test_malformed_address_is_400_with_error_and_what_was_typed(client, db, typed):
    response = subscribe(client, typed)
    content = response.content.decode()
    assert response.status_code == 400
    assert "Please check the address and try again." in content
    assert 'class="errorlist"' in content
    assert f'value="{escape(typed)}"' in content


@pytest.mark.parametrize("typed", MALFORMED)
def test_malformed_address_stores_and_sends_nothing(client, run_tasks, typed):
    subscribe(client, typed)
    run_tasks()
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_honeypot_gets_check_your_inbox_but_stores_and_sends_nothing(client, run_tasks):
    response = subscribe(client, "bot@example.com", website="https://spam.example/")
    run_tasks()
    assert response.status_code == 303
    assert response["Location"] == reverse("newsletter:check_inbox")
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


@pytest.fixture
def two_per_ip(db, settings):
    settings.NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR = 2
    return settings


def test_third_subscribe_from_one_ip_is_429(client, two_per_ip):
    for number in range(2):
        subscribe(client, f"reader{number}@example.com", REMOTE_ADDR="10.0.0.1")
    response = subscribe(client, "third@example.com", REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()


def test_another_ip_is_allowed_when_one_is_limited(client, two_per_ip):
    for number in range(3):
        limited = subscribe(client, f"reader{number}@example.com", REMOTE_ADDR="10.0.0.1")
    assert limited.status_code == 429
    assert subscribe(client, "other@example.com", REMOTE_ADDR="10.0.0.2").status_code == 303


def test_fourth_request_for_one_address_is_429_and_not_emailed(client, run_tasks, settings):
    settings.NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY = 3
    statuses = []
    for number in range(1, 5):
        statuses.append(subscribe(client, "ada@example.com", REMOTE_ADDR=f"10.0.0.{number}"))
        run_tasks()
    assert [response.status_code for response in statuses] == [303, 303, 303, 429]
    assert len(mail.outbox) == 3


def test_behind_proxy_the_last_forwarded_address_is_counted(client, two_per_ip):
    two_per_ip.BEHIND_PROXY = True
    subscribe(client, "one@example.com", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2")
    subscribe(client, "two@example.com", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2")
    limited = subscribe(client, "three@example.com", HTTP_X_FORWARDED_FOR="9.9.9.9, 2.2.2.2")
    allowed = subscribe(client, "four@example.com", HTTP_X_FORWARDED_FOR="1.1.1.1, 3.3.3.3")
    assert (limited.status_code, allowed.status_code) == (429, 303)


def test_without_proxy_a_forged_forwarded_header_does_not_escape_the_limit(client, two_per_ip):
    two_per_ip.BEHIND_PROXY = False
    subscribe(client, "one@example.com", HTTP_X_FORWARDED_FOR="1.1.1.1")
    subscribe(client, "two@example.com", HTTP_X_FORWARDED_FOR="2.2.2.2")
    response = subscribe(client, "three@example.com", HTTP_X_FORWARDED_FOR="3.3.3.3")
    assert response.status_code == 429


def test_subscribe_needs_no_csrf_token_or_cookie(db):
    response = subscribe(Client(enforce_csrf_checks=True), "ada@example.com")
    assert response.status_code == 303
    assert only_subscriber().status == PENDING


def test_confirm_post_without_csrf_token_is_403(sign_up):
    response = Client(enforce_csrf_checks=True).post(sign_up())
    assert response.status_code == 403
    assert only_subscriber().status == PENDING


def test_unsubscribe_post_without_csrf_token_is_403(unsubscribe_path):
    assert Client(enforce_csrf_checks=True).post(unsubscribe_path).status_code == 403
    assert only_subscriber().status == CONFIRMED


def one_character_changed(subscriber):
    token = make_confirm_token(subscriber)
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def for_deleted_subscriber(subscriber):
    token = make_confirm_token(subscriber)
    subscriber.delete()
    return token


@pytest.mark.parametrize(
    "make_token",
    [one_character_changed, make_unsubscribe_token, lambda _: "garbage", for_deleted_subscriber],
    ids=["one-character-changed", "unsubscribe-token", "garbage", "deleted-subscriber"],
)
def test_bad_confirm_link_is_400_not_valid(client, make_subscriber, make_token):
    token = make_token(make_subscriber("ada@example.com", status=PENDING))
    for method in (client.get, client.post):
        response = method(reverse("newsletter:confirm", args=[token]))
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert Subscriber.objects.filter(status=CONFIRMED).count() == 0


def test_token_with_characters_outside_the_converter_is_404(client, db):
    assert client.get("/newsletter/confirm/abc.def%20/").status_code == 404
    assert client.get("/newsletter/unsubscribe/abc$def/").status_code == 404


def test_unsubscribe_link_get_shows_button_and_changes_nothing(client, unsubscribe_path):
    response = client.get(unsubscribe_path)
    assert response.status_code == 200
    assert '<button type="submit">Unsubscribe</button>' in response.content.decode()
    assert only_subscriber().status == CONFIRMED


def test_unsubscribe_post_unsubscribes_and_redirects(client, unsubscribe_path):
    response = client.post(unsubscribe_path)
    assert response.status_code == 302
    assert response["Location"] == unsubscribe_path
    subscriber = only_subscriber()
    assert subscriber.status == UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None


def test_unsubscribed_page_offers_to_subscribe_again(client, unsubscribe_path):
    content = client.post(unsubscribe_path, follow=True).content.decode()
    assert "You are unsubscribed" in content
    assert "Subscribe again" in content
    assert f'action="{reverse("newsletter:subscribe")}"' in content
    assert 'value="ada@example.com"' in content


def test_resubscribing_from_the_unsubscribed_page_keeps_its_token_out_of_the_record(
    client, unsubscribe_path
):
    content = client.post(unsubscribe_path, follow=True).content.decode()
    assert f'name="page" value="{reverse("newsletter:subscribe")}"' in content
    assert unsubscribe_path not in content.split("<form", 1)[1]


def test_already_subscribed_email_has_working_unsubscribe_link(
    client, make_subscriber, run_tasks, link_in
):
    make_subscriber("ada@example.com")
    subscribe(client, "ada@example.com")
    run_tasks()
    assert client.post(link_in(mail.outbox[0], "unsubscribe")).status_code == 302
    assert only_subscriber().status == UNSUBSCRIBED


def test_one_click_unsubscribe_without_cookies_or_csrf_is_200(unsubscribe_token):
    response = Client(enforce_csrf_checks=True).post(
        reverse("newsletter:unsubscribe_one_click", args=[unsubscribe_token]),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert only_subscriber().status == UNSUBSCRIBED


def test_one_click_url_get_does_not_unsubscribe(client, unsubscribe_token):
    response = client.get(reverse("newsletter:unsubscribe_one_click", args=[unsubscribe_token]))
    assert response.status_code == 200
    assert only_subscriber().status == CONFIRMED


OLD_KEY, NEW_KEY = "old-key-" + "x" * 50, "new-key-" + "y" * 50


@pytest.fixture(
    params=[
        pytest.param(("newsletter:confirm", make_confirm_token, "Confirm"), id="confirm"),
        pytest.param(("newsletter:unsubscribe", make_unsubscribe_token, "Unsub"), id="unsubscribe"),
    ]
)
def link_under_old_key(request, make_subscriber, settings):
    """A link's path and button label, signed before the key was rotated to NEW_KEY."""
    route, make_token, button = request.param
    settings.SECRET_KEY = OLD_KEY
    token = make_token(make_subscriber("ada@example.com", status=PENDING))
    settings.SECRET_KEY = NEW_KEY
    return reverse(route, args=[token]), button


def test_link_signed_with_old_key_works_from_fallbacks(client, settings, link_under_old_key):
    path, button = link_under_old_key
    settings.SECRET_KEY_FALLBACKS = [OLD_KEY]
    response = client.get(path)
    assert response.status_code == 200
    assert button in response.content.decode()


def test_link_signed_with_retired_key_is_400(client, settings, link_under_old_key):
    path, _ = link_under_old_key
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(path).status_code == 400


def test_subscribing_from_a_post_records_consent(client, make_post, settings):
    post_path = make_post(slug="backpressure").get_absolute_url()
    assert f'name="page" value="{post_path}"' in client.get(post_path).content.decode()
    before = timezone.now()
    subscribe(client, "ada@example.com", page=post_path)
    subscriber = only_subscriber()
    assert subscriber.consent_page == "/posts/backpressure/"
    assert subscriber.consent_at >= before
    assert settings.NEWSLETTER_HEADING in subscriber.consent_wording
    assert settings.NEWSLETTER_TEXT in subscriber.consent_wording


@pytest.mark.parametrize("page", ["https://evil.example/", "//evil"])
def test_offsite_page_is_not_recorded_as_consent_page(client, db, page):
    subscribe(client, "ada@example.com", page=page)
    assert only_subscriber().consent_page == reverse("newsletter:subscribe")
