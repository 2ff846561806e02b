import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from anymail.exceptions import AnymailInsecureWebhookWarning
from django.urls import reverse

from newsletter.checks import check_email_provider, check_tracking_webhook
from newsletter.models import Delivery, NewsletterIssue, Subscriber
from newsletter.tracking import apply_event
from tests import provider_webhooks as payloads

Event, Status = Delivery.Event, Subscriber.Status


@pytest.fixture
def mailgun(settings):
    settings.EMAIL_PROVIDER = "mailgun"
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": payloads.MAILGUN_SIGNING_KEY}


@pytest.fixture
def postmark(settings):
    settings.EMAIL_PROVIDER = "postmark"
    settings.ANYMAIL = {"WEBHOOK_SECRET": payloads.WEBHOOK_SECRET}


@pytest.fixture
def issue(db):
    return make_issue()


def make_issue():
    return NewsletterIssue.objects.create(
        subject="A new post",
        post_url="https://blog.example.com/posts/a-new-post/",
        html_body="<p>A new post</p>",
        text_body="A new post",
    )


@pytest.fixture
def reader(make_subscriber):
    return make_subscriber("Reader@Example.com")


def sent(issue, subscriber, message_id):
    return Delivery.objects.create(
        issue=issue,
        subscriber=subscriber,
        status=Delivery.Status.SENT,
        sent_at=datetime.now(UTC),
        message_id=message_id,
    )


def webhook_url(provider):
    return reverse("newsletter:tracking_webhook", args=[provider])


def basic_auth(secret=payloads.WEBHOOK_SECRET):
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def post_mailgun(client, payload):
    return client.post(webhook_url("mailgun"), payload, content_type="application/json")


def post_postmark(client, payload, secret=payloads.WEBHOOK_SECRET):
    return client.post(
        webhook_url("postmark"),
        payload,
        content_type="application/json",
        headers=basic_auth(secret),
    )


def refreshed(*rows):
    for row in rows:
        row.refresh_from_db()


# Over real HTTP, as the providers post.

MAILGUN_ID = "<20240611151512.1.A9C9C4D2B8E1A5F0@mg.example.com>"
POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"


@pytest.mark.parametrize(
    ("payload", "event", "status"),
    [
        (payloads.mailgun_permanent_failure, Event.BOUNCED, Status.BOUNCED),
        (
            lambda email, message_id: payloads.mailgun("complained", email, message_id),
            Event.COMPLAINED,
            Status.COMPLAINED,
        ),
        (
            lambda email, message_id: payloads.mailgun("unsubscribed", email, message_id),
            Event.UNSUBSCRIBED,
            Status.UNSUBSCRIBED,
        ),
    ],
    ids=["bounce", "complaint", "unsubscribe"],
)
def test_signed_mailgun_webhook_over_http_stops_the_sending(
    live_server, mailgun, make_subscriber, payload, event, status
):
    reader = make_subscriber("reader@example.com")
    delivery = sent(make_issue(), reader, MAILGUN_ID)

    response = requests.post(
        live_server.url + webhook_url("mailgun"),
        json=payload("reader@example.com", MAILGUN_ID),
        timeout=10,
    )

    assert response.status_code == 200
    refreshed(reader, delivery)
    assert reader.status == status
    assert reader.unsubscribed_at is not None
    assert delivery.event == event
    assert delivery.event_at is not None


@pytest.mark.parametrize(
    ("payload", "event", "status"),
    [
        (payloads.postmark_bounce, Event.BOUNCED, Status.BOUNCED),
        (payloads.postmark_spam_complaint, Event.COMPLAINED, Status.COMPLAINED),
        (payloads.postmark_unsubscribe, Event.UNSUBSCRIBED, Status.UNSUBSCRIBED),
    ],
    ids=["bounce", "complaint", "unsubscribe"],
)
def test_postmark_webhook_with_its_password_over_http_stops_the_sending(
    live_server, postmark, make_subscriber, payload, event, status
):
    reader = make_subscriber("reader@example.com")
    delivery = sent(make_issue(), reader, POSTMARK_ID)

    response = requests.post(
        live_server.url + webhook_url("postmark"),
        json=payload("reader@example.com", POSTMARK_ID),
        auth=tuple(payloads.WEBHOOK_SECRET.split(":")),
        timeout=10,
    )

    assert response.status_code == 200
    refreshed(reader, delivery)
    assert reader.status == status
    assert delivery.event == event


# Proof that the post came from the provider.


def test_mailgun_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    client, mailgun, issue, reader
):
    delivery = sent(issue, reader, MAILGUN_ID)
    forged = payloads.mailgun_permanent_failure(
        reader.email, MAILGUN_ID, signing_key="not-the-signing-key"
    )

    response = post_mailgun(client, forged)

    assert response.status_code == 400
    refreshed(reader, delivery)
    assert reader.status == Status.CONFIRMED
    assert delivery.event == ""


def test_mailgun_webhook_without_a_signature_is_refused(client, mailgun, reader):
    payload = payloads.mailgun_permanent_failure(reader.email, MAILGUN_ID)
    del payload["signature"]

    assert post_mailgun(client, payload).status_code == 400
    reader.refresh_from_db()
    assert reader.status == Status.CONFIRMED


@pytest.mark.parametrize("secret", ["anymail:wrong-password", None], ids=["wrong", "missing"])
def test_postmark_webhook_without_the_password_is_refused_and_changes_nothing(
    client, postmark, issue, reader, secret
):
    delivery = sent(issue, reader, POSTMARK_ID)
    headers = basic_auth(secret) if secret else {}

    response = client.post(
        webhook_url("postmark"),
        payloads.postmark_bounce(reader.email, POSTMARK_ID),
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 400
    refreshed(reader, delivery)
    assert reader.status == Status.CONFIRMED
    assert delivery.event == ""


def test_postmark_webhook_is_shut_while_no_webhook_secret_is_set(client, settings, reader):
    settings.EMAIL_PROVIDER = "postmark"
    settings.ANYMAIL = {}

    with pytest.warns(AnymailInsecureWebhookWarning):
        response = client.post(
            webhook_url("postmark"),
            payloads.postmark_bounce(reader.email, POSTMARK_ID),
            content_type="application/json",
        )

    assert response.status_code == 404
    reader.refresh_from_db()
    assert reader.status == Status.CONFIRMED


def test_mailgun_webhook_is_shut_while_no_signing_key_is_set(client, settings, reader):
    settings.EMAIL_PROVIDER = "mailgun"
    settings.ANYMAIL = {}

    response = post_mailgun(client, payloads.mailgun_permanent_failure(reader.email, MAILGUN_ID))

    assert response.status_code == 404
    reader.refresh_from_db()
    assert reader.status == Status.CONFIRMED


def test_webhook_of_a_provider_the_site_does_not_send_through_is_404(client, postmark, reader):
    response = post_mailgun(client, payloads.mailgun_permanent_failure(reader.email, MAILGUN_ID))

    assert response.status_code == 404
    reader.refresh_from_db()
    assert reader.status == Status.CONFIRMED


def test_webhook_is_404_when_the_site_sends_by_smtp(client, settings, db):
    settings.EMAIL_PROVIDER = ""

    assert post_postmark(client, payloads.postmark_bounce("a@example.com", "x")).status_code == 404


def test_webhook_answers_only_posts(client, postmark):
    response = client.get(webhook_url("postmark"), headers=basic_auth())

    assert response.status_code == 405


def test_unreadable_webhook_body_is_a_400(client, postmark, db):
    response = client.post(
        webhook_url("postmark"),
        "not json",
        content_type="application/json",
        headers=basic_auth(),
    )

    assert response.status_code == 400
    assert b"not a postmark tracking event" in response.content


# What a report changes.


def test_webhook_about_an_unknown_address_is_accepted_and_ignored(client, mailgun, reader):
    response = post_mailgun(
        client, payloads.mailgun_permanent_failure("stranger@example.com", "<unknown@mg>")
    )

    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Status.CONFIRMED
    assert not Subscriber.objects.with_email("stranger@example.com").exists()


def test_report_without_a_known_message_finds_the_subscriber_by_address(client, postmark, reader):
    # The confirmation email has no delivery row; its bounce still says the address is bad.
    response = post_postmark(client, payloads.postmark_bounce("reader@EXAMPLE.com", "other-id"))

    assert response.status_code == 200
    reader.refresh_from_db()
    assert reader.status == Status.BOUNCED


def test_delivery_records_what_the_provider_said(client, mailgun, issue, reader):
    delivery = sent(issue, reader, MAILGUN_ID)

    post_mailgun(client, payloads.mailgun_permanent_failure(reader.email, MAILGUN_ID))

    delivery.refresh_from_db()
    assert "550 5.1.1" in delivery.event_detail


def test_pending_subscriber_whose_confirmation_bounced_is_marked_bounced(
    client, postmark, make_subscriber
):
    pending = make_subscriber("new@example.com", status=Status.PENDING)

    post_postmark(client, payloads.postmark_bounce(pending.email, "confirmation-id"))

    pending.refresh_from_db()
    assert pending.status == Status.BOUNCED


def test_subscriber_who_had_unsubscribed_stays_unsubscribed_after_a_bounce(
    client, mailgun, issue, make_subscriber
):
    left_at = datetime(2024, 1, 2, tzinfo=UTC)
    gone = make_subscriber("gone@example.com", status=Status.UNSUBSCRIBED, unsubscribed_at=left_at)
    delivery = sent(issue, gone, MAILGUN_ID)

    response = post_mailgun(client, payloads.mailgun_permanent_failure(gone.email, MAILGUN_ID))

    assert response.status_code == 200
    refreshed(gone, delivery)
    assert gone.status == Status.UNSUBSCRIBED
    assert gone.unsubscribed_at == left_at
    assert delivery.event == Event.BOUNCED


def test_complaint_after_a_bounce_leaves_the_subscriber_bounced(client, postmark, issue, reader):
    post_postmark(client, payloads.postmark_bounce(reader.email, POSTMARK_ID))
    post_postmark(client, payloads.postmark_spam_complaint(reader.email, POSTMARK_ID))

    reader.refresh_from_db()
    assert reader.status == Status.BOUNCED


def test_delivered_and_opened_reports_leave_a_confirmed_subscriber_confirmed(
    client, postmark, issue, reader
):
    delivery = sent(issue, reader, POSTMARK_ID)

    post_postmark(client, payloads.postmark_delivery(reader.email, POSTMARK_ID))
    opened = {"RecordType": "Open", "MessageID": POSTMARK_ID, "Recipient": reader.email}
    assert post_postmark(client, opened).status_code == 200

    refreshed(reader, delivery)
    assert reader.status == Status.CONFIRMED
    assert delivery.event == Event.DELIVERED


# Soft bounces.


def test_three_soft_bounces_in_a_row_stop_the_sending(client, mailgun, reader):
    for number in range(3):
        message_id = f"<issue-{number}@mg.example.com>"
        sent(make_issue(), reader, message_id)
        post_mailgun(client, payloads.mailgun_temporary_failure(reader.email, message_id))
        reader.refresh_from_db()
        assert reader.soft_bounces == number + 1

    assert reader.status == Status.BOUNCED
    assert reader.unsubscribed_at is not None
    assert set(reader.deliveries.values_list("event", flat=True)) == {Event.SOFT_BOUNCE}


def test_a_delivered_email_between_soft_bounces_starts_the_count_again(client, mailgun, reader):
    reports = [
        payloads.mailgun_temporary_failure,
        payloads.mailgun_temporary_failure,
        lambda email, message_id: payloads.mailgun("delivered", email, message_id),
        payloads.mailgun_temporary_failure,
    ]
    for number, report in enumerate(reports):
        message_id = f"<issue-{number}@mg.example.com>"
        sent(make_issue(), reader, message_id)
        post_mailgun(client, report(reader.email, message_id))

    reader.refresh_from_db()
    assert reader.status == Status.CONFIRMED
    assert reader.soft_bounces == 1


def test_the_same_webhook_delivered_twice_counts_once(client, mailgun, issue, reader):
    sent(issue, reader, MAILGUN_ID)
    report = payloads.mailgun_temporary_failure(reader.email, MAILGUN_ID)

    assert post_mailgun(client, report).status_code == 200
    assert post_mailgun(client, report).status_code == 200

    reader.refresh_from_db()
    assert reader.soft_bounces == 1


def test_every_retry_of_one_deferred_email_counts_once(client, mailgun, issue, reader):
    sent(issue, reader, MAILGUN_ID)
    first = datetime.now(UTC) - timedelta(hours=3)

    for hours in range(3):
        report = payloads.mailgun_temporary_failure(
            reader.email, MAILGUN_ID, at=first + timedelta(hours=hours)
        )
        post_mailgun(client, report)

    reader.refresh_from_db()
    assert reader.status == Status.CONFIRMED
    assert reader.soft_bounces == 1


def test_a_deferral_reported_after_the_delivery_changes_nothing(issue, reader):
    delivery = sent(issue, reader, MAILGUN_ID)
    delivered_at = datetime.now(UTC)
    apply_event(Event.DELIVERED, email=reader.email, message_id=MAILGUN_ID, at=delivered_at)

    apply_event(
        Event.SOFT_BOUNCE,
        email=reader.email,
        message_id=MAILGUN_ID,
        at=delivered_at - timedelta(minutes=5),
    )

    refreshed(reader, delivery)
    assert reader.soft_bounces == 0
    assert delivery.event == Event.DELIVERED


def test_a_permanent_failure_after_soft_bounces_of_the_same_email_is_a_bounce(
    client, mailgun, issue, reader
):
    sent(issue, reader, MAILGUN_ID)

    post_mailgun(client, payloads.mailgun_temporary_failure(reader.email, MAILGUN_ID))
    post_mailgun(client, payloads.mailgun_permanent_failure(reader.email, MAILGUN_ID))

    reader.refresh_from_db()
    assert reader.status == Status.BOUNCED


# Each provider's way of telling a soft bounce from a hard one.


def post_sendgrid(client, payload):
    return client.post(
        webhook_url("sendgrid"), payload, content_type="application/json", headers=basic_auth()
    )


def post_brevo(client, payload):
    return client.post(
        webhook_url("brevo"), payload, content_type="application/json", headers=basic_auth()
    )


def post_amazon_ses(client, payload_and_headers):
    body, headers = payload_and_headers
    return client.post(
        # The URL may spell the provider with a hyphen.
        webhook_url("amazon-ses"),
        json.dumps(body),
        content_type="text/plain; charset=UTF-8",
        headers={**headers, **basic_auth()},
    )


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
@pytest.mark.parametrize(
    ("provider", "post", "report", "event"),
    [
        ("postmark", post_postmark, payloads.postmark_bounce, Event.BOUNCED),
        (
            "postmark",
            post_postmark,
            lambda email, message_id: payloads.postmark_bounce(
                email, message_id, bounce_type="SoftBounce"
            ),
            Event.SOFT_BOUNCE,
        ),
        (
            "postmark",
            post_postmark,
            lambda email, message_id: payloads.postmark_bounce(
                email, message_id, bounce_type="Transient"
            ),
            Event.SOFT_BOUNCE,
        ),
        ("sendgrid", post_sendgrid, payloads.sendgrid_bounce, Event.BOUNCED),
        (
            "sendgrid",
            post_sendgrid,
            lambda email, message_id: payloads.sendgrid_bounce(
                email, message_id, bounce_type="blocked"
            ),
            Event.SOFT_BOUNCE,
        ),
        ("brevo", post_brevo, payloads.brevo_bounce, Event.BOUNCED),
        (
            "brevo",
            post_brevo,
            lambda email, message_id: payloads.brevo_bounce(email, message_id, event="soft_bounce"),
            Event.SOFT_BOUNCE,
        ),
        ("amazon_ses", post_amazon_ses, payloads.amazon_ses_bounce, Event.BOUNCED),
        (
            "amazon_ses",
            post_amazon_ses,
            lambda email, message_id: payloads.amazon_ses_bounce(
                email, message_id, bounce_type="Transient"
            ),
            Event.SOFT_BOUNCE,
        ),
    ],
    ids=[
        "postmark-hard",
        "postmark-soft",
        "postmark-transient",
        "sendgrid-bounce",
        "sendgrid-blocked",
        "brevo-hard",
        "brevo-soft",
        "ses-permanent",
        "ses-transient",
    ],
)
def test_providers_soft_and_hard_bounces(
    client, settings, issue, reader, provider, post, report, event
):
    settings.EMAIL_PROVIDER = provider
    settings.ANYMAIL = {"WEBHOOK_SECRET": payloads.WEBHOOK_SECRET}
    delivery = sent(issue, reader, "provider-message-1")

    response = post(client, report(reader.email, "provider-message-1"))

    assert response.status_code == 200
    refreshed(reader, delivery)
    assert delivery.event == event
    if event == Event.BOUNCED:
        assert (reader.status, reader.soft_bounces) == (Status.BOUNCED, 0)
    else:
        assert (reader.status, reader.soft_bounces) == (Status.CONFIRMED, 1)


# apply_event, as the SMTP sender calls it.


def test_permanent_smtp_refusal_bounces_the_subscriber(issue, reader):
    delivery = sent(issue, reader, "<1@blog.example.com>")

    applied = apply_event(
        Event.BOUNCED, email=reader.email, delivery=delivery, detail="550 5.1.1 No such user"
    )

    assert applied
    # The sender may save its copy of the delivery afterwards without undoing the event.
    assert (delivery.event, delivery.event_detail) == (Event.BOUNCED, "550 5.1.1 No such user")
    refreshed(reader, delivery)
    assert reader.status == Status.BOUNCED
    assert delivery.event == Event.BOUNCED


def test_event_about_nobody_we_know_is_not_applied(db):
    assert not apply_event(Event.COMPLAINED, email="stranger@example.com", message_id="<none@x>")


def test_long_provider_detail_is_cut_short(issue, reader):
    delivery = sent(issue, reader, "<1@blog.example.com>")

    apply_event(Event.BOUNCED, email=reader.email, delivery=delivery, detail="5" * 5000)

    delivery.refresh_from_db()
    assert len(delivery.event_detail) == 1000


def test_soft_bounce_of_an_email_with_no_delivery_row_is_not_counted(reader):
    # Without the email it was about, a provider's retry could not be told from a new bounce.
    assert apply_event(Event.SOFT_BOUNCE, email=reader.email)

    reader.refresh_from_db()
    assert reader.soft_bounces == 0


# Checks.


def test_misspelt_email_provider_is_an_error(settings):
    settings.EMAIL_PROVIDER = "mailgunn"

    [error] = check_email_provider(None)

    assert error.id == "newsletter.E001"
    assert "mailgunn" in error.msg


def test_known_email_provider_passes_the_check(settings):
    settings.EMAIL_PROVIDER = "postmark"

    assert check_email_provider(None) == []


@pytest.mark.parametrize(
    ("provider", "anymail", "words"),
    [
        ("postmark", {}, "WEBHOOK_SECRET"),
        ("mailgun", {"WEBHOOK_SECRET": payloads.WEBHOOK_SECRET}, "MAILGUN_WEBHOOK_SIGNING_KEY"),
    ],
)
def test_provider_without_webhook_authentication_warns_at_deploy(
    settings, provider, anymail, words
):
    settings.EMAIL_PROVIDER, settings.ANYMAIL = provider, anymail

    [warning] = check_tracking_webhook(None)

    assert warning.id == "newsletter.W003"
    assert words in warning.msg


@pytest.mark.parametrize(
    ("provider", "anymail"),
    [
        ("postmark", {"WEBHOOK_SECRET": payloads.WEBHOOK_SECRET}),
        ("mailgun", {"MAILGUN_WEBHOOK_SIGNING_KEY": payloads.MAILGUN_SIGNING_KEY}),
        ("", {}),
    ],
)
def test_provider_with_webhook_authentication_passes_the_deploy_check(settings, provider, anymail):
    settings.EMAIL_PROVIDER, settings.ANYMAIL = provider, anymail

    assert check_tracking_webhook(None) == []


def test_provider_with_no_tracking_webhook_in_anymail_warns_at_deploy(settings):
    settings.EMAIL_PROVIDER = "scaleway"

    [warning] = check_tracking_webhook(None)

    assert warning.id == "newsletter.W004"
