import re
import time
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from blog.models import Post, Series, Tag
from newsletter import tasks
from newsletter.models import Subscriber
from newsletter.tokens import make_add_topic_token
from tests import test_newsletter_manage
from tests.chromium import needs_chromium
from tests.mail_servers import free_port
from tests.test_newsletter_manage import SCROLLS_SIDEWAYS, tab_to

PENDING = Subscriber.Status.PENDING
CONFIRMED = Subscriber.Status.CONFIRMED
UNSUBSCRIBED = Subscriber.Status.UNSUBSCRIBED

narrow_browser = test_newsletter_manage.narrow_browser


@pytest.fixture
def proofs(make_post):
    """A series of two public parts."""
    series = Series.objects.create(title="Proofs", slug="proofs")
    make_post(title="Part one", series=series, series_part=1)
    make_post(title="Part two", series=series, series_part=2)
    return series


@pytest.fixture
def python(make_post):
    tag = Tag.objects.create(name="Python", slug="python")
    make_post(title="Snakes", tags=[tag])
    return tag


def first_post(series):
    return Post.objects.filter(series=series).order_by("series_part").first()


def topic_box(content):
    """The series or tag box of a page, which is cached for every reader."""
    match = re.search(r'<section class="newsletter-box topic-box".*?</section>', content, re.S)
    assert match, "no series or tag box on the page"
    return match.group(0)


def box_fields(box):
    """What the box's form sends, as a browser would: its inputs' names and values."""
    return dict(re.findall(r'<input type="[a-z]+" name="([a-z]+)"(?: value="([^"]*)")?', box))


def submit_box(client, page_url, email):
    """Fill in a page's series or tag box and press its button."""
    box = topic_box(client.get(page_url).content.decode())
    action = re.search(r'<form method="post" action="([^"]+)"', box).group(1)
    return client.post(action, {**box_fields(box), "email": email})


def link_to(message, route):
    path = reverse(route, args=["TOKEN"]).replace("TOKEN/", "")
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]+/)", message.body)
    assert match, f"no {route} link in: {message.body}"
    return match.group(1)


def test_series_post_shows_the_next_part_box_for_its_series(client, proofs):
    content = client.get(first_post(proofs).get_absolute_url()).content.decode()
    box = topic_box(content)
    assert "Tell me when the next part ships" in box
    assert "We email you only new parts of the series “Proofs”, nothing else." in box
    assert box_fields(box)["series"] == "proofs"
    assert 'type="email" name="email"' in box
    assert "csrfmiddlewaretoken" not in content


def test_post_without_series_has_no_next_part_box(client, make_post):
    content = client.get(make_post().get_absolute_url()).content.decode()
    assert "topic-box" not in content
    assert 'class="newsletter-box"' in content


def test_series_box_and_newsletter_box_have_ids_of_their_own(client, proofs):
    content = client.get(first_post(proofs).get_absolute_url()).content.decode()
    ids = re.findall(r' id="([^"]+)"', content)
    assert len(ids) == len(set(ids))


def test_tag_page_offers_the_tag_by_email(client, python):
    box = topic_box(client.get(python.get_absolute_url()).content.decode())
    assert "Get new posts tagged “Python” by email" in box
    assert box_fields(box)["tag"] == "python"
    assert "series" not in box_fields(box)


def test_new_address_from_a_series_box_gets_only_that_series_once_confirmed(
    client, proofs, python, run_tasks, link_in
):
    post_url = first_post(proofs).get_absolute_url()
    response = submit_box(client, post_url, "ada@example.com")
    assert response.status_code == 303
    assert response["Location"] == reverse("newsletter:check_inbox")
    ada = Subscriber.objects.get()
    assert ada.status == PENDING
    assert ada.everything is False
    assert list(ada.series.all()) == [proofs]
    assert ada.consent_page == post_url
    run_tasks()
    (confirmation,) = mail.outbox
    client.post(link_in(confirmation, "confirm"))
    run_tasks()
    ada = Subscriber.objects.get()
    assert ada.status == CONFIRMED
    assert ada.everything is False
    assert list(ada.series.all()) == [proofs]
    assert not ada.tags.exists()
    welcome = mail.outbox[-1]
    assert "the series “Proofs”" in welcome.body


def test_consent_record_holds_the_words_of_the_series_box(client, proofs, run_tasks):
    post_url = first_post(proofs).get_absolute_url()
    box = topic_box(client.get(post_url).content.decode())
    submit_box(client, post_url, "ada@example.com")
    wording = Subscriber.objects.get().consent_wording
    assert wording.startswith("Tell me when the next part ships")
    for line in wording.splitlines():
        assert escape(line) in box


def test_new_address_from_a_tag_box_gets_only_that_tag(client, python):
    response = submit_box(client, python.get_absolute_url(), "ada@example.com")
    assert response.status_code == 303
    ada = Subscriber.objects.get()
    assert ada.everything is False
    assert list(ada.tags.all()) == [python]
    assert not ada.series.exists()
    assert "Get new posts tagged “Python” by email" in ada.consent_wording


@pytest.mark.parametrize("status", [PENDING, UNSUBSCRIBED])
def test_unconfirmed_address_takes_the_choice_of_its_latest_request(
    client, make_subscriber, proofs, python, run_tasks, link_in, status
):
    ada = make_subscriber("ada@example.com", status=status, everything=False)
    ada.tags.set([python])
    submit_box(client, first_post(proofs).get_absolute_url(), "ada@example.com")
    ada = Subscriber.objects.get()
    assert ada.status == PENDING
    assert list(ada.series.all()) == [proofs]
    assert not ada.tags.exists()
    run_tasks()
    (confirmation,) = mail.outbox
    assert link_in(confirmation, "confirm")


def test_unconfirmed_address_using_the_plain_box_goes_back_to_every_post(
    client, make_subscriber, proofs
):
    ada = make_subscriber("ada@example.com", status=PENDING, everything=False)
    ada.series.set([proofs])
    client.post(reverse("newsletter:subscribe"), {"email": "ada@example.com"})
    ada = Subscriber.objects.get()
    assert ada.everything is True
    assert not ada.series.exists()


@pytest.fixture
def only_python(make_subscriber, python):
    ada = make_subscriber("ada@example.com", everything=False)
    ada.tags.set([python])
    return ada


def test_confirmed_subscriber_adds_a_series_by_the_link_in_an_email(
    client, only_python, proofs, python, run_tasks
):
    response = submit_box(client, first_post(proofs).get_absolute_url(), "ada@example.com")
    assert response["Location"] == reverse("newsletter:check_inbox")
    assert not only_python.series.exists()
    run_tasks()
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    assert "Add “Proofs” to your subscription?" in message.body
    path = link_to(message, "newsletter:add_topic")

    page = client.get(path)
    assert page.status_code == 200
    assert "Add the series “Proofs”</button>" in page.content.decode()
    assert not only_python.series.exists()

    response = client.post(path)
    assert response.status_code == 303
    assert response["Location"] == path
    assert list(only_python.series.all()) == [proofs]
    assert list(only_python.tags.all()) == [python]
    assert Subscriber.objects.get().everything is False
    content = client.get(path).content.decode()
    assert "Added: you will get the series “Proofs” too." in content


def test_add_topic_link_used_twice_adds_once_and_says_so(client, only_python, proofs):
    path = reverse("newsletter:add_topic", args=[make_add_topic_token(only_python, proofs)])
    client.post(path)
    response = client.post(path)
    assert response.status_code == 303
    assert only_python.series.count() == 1
    assert "You already get the series “Proofs”: nothing changed." in (
        client.get(path).content.decode()
    )


def test_add_topic_for_a_subscriber_of_every_post_changes_nothing(client, make_subscriber, proofs):
    ada = make_subscriber("ada@example.com")
    path = reverse("newsletter:add_topic", args=[make_add_topic_token(ada, proofs)])
    assert "You already get every new post" in client.get(path).content.decode()
    client.post(path)
    ada = Subscriber.objects.get()
    assert ada.everything is True
    assert not ada.series.exists()
    assert "nothing changed" in client.get(path).content.decode()


def test_add_topic_after_unsubscribing_adds_nothing(client, make_subscriber, proofs):
    ada = make_subscriber("ada@example.com", everything=False)
    path = reverse("newsletter:add_topic", args=[make_add_topic_token(ada, proofs)])
    Subscriber.objects.update(status=UNSUBSCRIBED)
    client.post(path)
    assert not ada.series.exists()
    assert "This address is no longer subscribed" in client.get(path).content.decode()


def test_add_topic_link_expires_with_confirmation_links(client, only_python, proofs, settings):
    path = reverse("newsletter:add_topic", args=[make_add_topic_token(only_python, proofs)])
    later = time.time() + (settings.NEWSLETTER_CONFIRM_DAYS + 0.01) * 86_400
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.post(path)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert not only_python.series.exists()


def test_tampered_add_topic_link_is_400(client, only_python, proofs):
    token = make_add_topic_token(only_python, proofs)
    response = client.post(reverse("newsletter:add_topic", args=[token + "x"]))
    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    assert not only_python.series.exists()


def test_add_topic_link_for_a_deleted_series_is_400(client, only_python, proofs):
    path = reverse("newsletter:add_topic", args=[make_add_topic_token(only_python, proofs)])
    Post.objects.filter(series=proofs).delete()
    proofs.delete()
    assert client.get(path).status_code == 400


def test_add_topic_post_needs_the_csrf_token(only_python, proofs):
    path = reverse("newsletter:add_topic", args=[make_add_topic_token(only_python, proofs)])
    assert Client(enforce_csrf_checks=True).post(path).status_code == 403
    assert not only_python.series.exists()


def test_subscriber_of_every_post_gets_already_subscribed_not_add_topic(
    client, make_subscriber, proofs, run_tasks
):
    make_subscriber("ada@example.com")
    submit_box(client, first_post(proofs).get_absolute_url(), "ada@example.com")
    run_tasks()
    (message,) = mail.outbox
    assert "You are already subscribed" in message.body
    assert "/newsletter/add/" not in message.body
    assert Subscriber.objects.get().everything is True


def test_confirmed_subscriber_with_the_tag_already_gets_already_subscribed(
    client, only_python, python, run_tasks
):
    submit_box(client, python.get_absolute_url(), "ada@example.com")
    run_tasks()
    (message,) = mail.outbox
    assert "You are already subscribed" in message.body


@pytest.mark.parametrize("who", ["new", "pending", "unsubscribed", "everything", "only python"])
def test_every_case_gets_the_same_check_your_inbox_answer(
    client, make_subscriber, proofs, python, who
):
    if who != "new":
        status = {"pending": PENDING, "unsubscribed": UNSUBSCRIBED}.get(who, CONFIRMED)
        ada = make_subscriber("ada@example.com", status=status, everything=who != "only python")
        ada.tags.set([python])
    response = submit_box(client, first_post(proofs).get_absolute_url(), "ada@example.com")
    assert response.status_code == 303
    assert response["Location"] == reverse("newsletter:check_inbox")
    assert response.content == b""


@pytest.mark.parametrize(
    ("field", "slug", "message"),
    [
        ("series", "no-such-series", "There is no series “no-such-series” to subscribe to."),
        ("tag", "no-such-tag", "There is no tag “no-such-tag” to subscribe to."),
    ],
)
def test_unknown_series_or_tag_is_400_with_a_message_and_stores_nothing(
    client, db, run_tasks, field, slug, message
):
    data = {"email": "ada@example.com", field: slug}
    response = client.post(reverse("newsletter:subscribe"), data)
    assert response.status_code == 400
    content = response.content.decode()
    assert escape(message) in content
    assert 'value="ada@example.com"' in content
    assert f'name="{field}"' not in content
    assert not Subscriber.objects.exists()
    run_tasks()
    assert mail.outbox == []


def test_series_with_only_drafts_is_400(client, make_post):
    hidden = Series.objects.create(title="Hidden", slug="hidden")
    make_post(status=Post.Status.DRAFT, series=hidden, series_part=1)
    data = {"email": "ada@example.com", "series": "hidden"}
    response = client.post(reverse("newsletter:subscribe"), data)
    assert response.status_code == 400
    assert "There is no series “hidden”" in response.content.decode()


def test_series_and_tag_together_is_400(client, proofs, python):
    data = {"email": "ada@example.com", "series": "proofs", "tag": "python"}
    response = client.post(reverse("newsletter:subscribe"), data)
    assert response.status_code == 400
    assert "Choose a series or a tag, not both." in response.content.decode()


def test_series_box_obeys_the_per_address_limit(client, only_python, proofs, settings):
    settings.NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY = 1
    post_url = first_post(proofs).get_absolute_url()
    assert submit_box(client, post_url, "ada@example.com").status_code == 303
    assert submit_box(client, post_url, "ada@example.com").status_code == 429


@needs_chromium
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_series_box_tag_box_and_add_page_fit_a_phone_and_work_by_keyboard(
    narrow_browser, only_python, proofs, python, color_scheme
):
    page = narrow_browser(color_scheme)
    page.goto(python.get_absolute_url())
    assert page.get_by_role("heading", name="Get new posts tagged “Python” by email").is_visible()
    assert not page.evaluate(SCROLLS_SIDEWAYS)

    page.goto(first_post(proofs).get_absolute_url())
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    tab_to(page, "#topic-email")
    page.keyboard.type("grace@example.com")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    grace = Subscriber.objects.get(email="grace@example.com")
    assert list(grace.series.all()) == [proofs]

    page.goto(reverse("newsletter:add_topic", args=[make_add_topic_token(only_python, proofs)]))
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    tab_to(page, ".notice-page button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("Added: you will get the series “Proofs” too.").is_visible()
    assert list(only_python.series.all()) == [proofs]


def test_add_topic_email_is_retried_for_the_same_topic_when_the_server_is_unreachable(
    only_python, proofs, settings, run_tasks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.NEWSLETTER_RETRY_DELAY = 0
    outcome = tasks.send_add_topic.call(only_python.pk, kind="series", topic_id=proofs.pk)
    assert outcome.startswith("retrying after")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_tasks()
    (message,) = mail.outbox
    assert "Add “Proofs” to your subscription?" in message.body
