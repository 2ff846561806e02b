"""
Sending an issue: one delivery row per subscriber, marked sent right after its message is
accepted, so a worker killed mid-send repeats at most the one message it had in flight.
"""

import contextlib
import logging
import smtplib
import time
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db.models import F, Min, Q
from django.utils import timezone
from django.utils.crypto import get_random_string

from newsletter import emails, tracking
from newsletter.models import Delivery, NewsletterIssue, Subscriber

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the issue over after this one stalled past its lease."""


def is_temporary(error):
    """4xx SMTP replies and dropped connections are worth retrying; 5xx and the rest are not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, OSError)


def is_permanent_refusal(error):
    """A 5xx answer to RCPT TO: the address does not exist or will never accept our mail."""
    return isinstance(error, smtplib.SMTPRecipientsRefused) and any(
        500 <= code < 600 for code, _ in error.recipients.values()
    )


def provider_message_id(message):
    """What the provider's reports will call this message: its own id when sent through
    anymail, else the Message-ID we gave it."""
    status = getattr(message, "anymail_status", None)
    return (status and status.message_id) or message.extra_headers.get("Message-ID", "")


def connection_lost(error):
    """A refused recipient leaves the SMTP session usable; a dropped socket does not."""
    answered = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)
    return isinstance(error, OSError) and not isinstance(error, answered)


class Pace:
    """Spaces sends to at most `per_second` messages a second (0 means no limit)."""

    def __init__(self, per_second):
        self.interval = 1 / per_second if per_second > 0 else 0
        self.next_at = time.monotonic()

    def wait(self):
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


class IssueSender:
    def __init__(self, issue):
        self.issue = issue
        self.email = emails.IssueEmail(issue)
        self.owner = get_random_string(32)
        self.lease = timedelta(seconds=settings.NEWSLETTER_LEASE_SECONDS)
        self.renewed_at = 0.0
        self.pace = Pace(settings.NEWSLETTER_SEND_RATE)

    def claim(self):
        now = timezone.now()
        claimed = (
            NewsletterIssue.objects.filter(pk=self.issue.pk, finished_at__isnull=True)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
            .update(lease_owner=self.owner, lease_expires_at=now + self.lease)
        )
        self.renewed_at = time.monotonic()
        return claimed == 1

    def renew_lease_if_due(self):
        if time.monotonic() - self.renewed_at < self.lease.total_seconds() / 3:
            return
        renewed = NewsletterIssue.objects.filter(pk=self.issue.pk, lease_owner=self.owner).update(
            lease_expires_at=timezone.now() + self.lease
        )
        if not renewed:
            raise LeaseLost
        self.renewed_at = time.monotonic()

    def release(self):
        NewsletterIssue.objects.filter(pk=self.issue.pk, lease_owner=self.owner).update(
            lease_owner="", lease_expires_at=None
        )

    def due_batch(self):
        return list(
            self.issue.deliveries.filter(status=Delivery.Status.QUEUED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
            .order_by("id")[: settings.NEWSLETTER_BATCH_SIZE]
        )

    def run(self):
        while batch := self.due_batch():
            self.send_batch(batch)

    def send_batch(self, batch):
        connection = get_connection()
        try:
            connection.open()
        except Exception as error:
            logger.warning("Issue %s: cannot reach the mail server: %s", self.issue.pk, error)
            for delivery in batch:
                self.record_failure(delivery, error)
            return
        try:
            for delivery in batch:
                self.send_one(delivery, connection)
        finally:
            connection.close()

    def send_one(self, delivery, connection):
        self.pace.wait()
        self.renew_lease_if_due()
        # Read the subscriber now, not when the batch started: an unsubscribe counts at once.
        subscriber = Subscriber.objects.confirmed().filter(pk=delivery.subscriber_id).first()
        if subscriber is None:
            self.queued(delivery).update(status=Delivery.Status.SKIPPED)
            return
        message = self.email.message_for(subscriber, connection=connection)
        try:
            connection.send_messages([message])
        except Exception as error:
            self.record_failure(delivery, error, subscriber)
            if connection_lost(error):
                connection.close()
                with contextlib.suppress(Exception):
                    connection.open()  # else the next send tries again and records its failure
            return
        self.queued(delivery).update(
            status=Delivery.Status.SENT,
            sent_at=timezone.now(),
            attempts=F("attempts") + 1,
            last_error="",
            message_id=provider_message_id(message)[:250],
        )

    @staticmethod
    def queued(delivery):
        return Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.QUEUED)

    def record_failure(self, delivery, error, subscriber=None):
        attempts = delivery.attempts + 1
        description = f"{type(error).__name__}: {error}"[:1000]
        if subscriber is not None and is_permanent_refusal(error):
            # The receiving server said this address will never take mail: a hard bounce.
            tracking.apply_event(
                Delivery.Event.BOUNCED,
                email=subscriber.email,
                delivery=delivery,
                detail=description,
            )
        if is_temporary(error) and attempts < settings.NEWSLETTER_MAX_ATTEMPTS:
            retry_at = timezone.now() + timedelta(
                seconds=settings.NEWSLETTER_RETRY_DELAY * attempts
            )
            self.queued(delivery).update(
                attempts=attempts, next_attempt_at=retry_at, last_error=description
            )
        else:
            logger.warning(
                "Issue %s: giving up on delivery %s: %s", self.issue.pk, delivery.pk, description
            )
            self.queued(delivery).update(
                status=Delivery.Status.FAILED, attempts=attempts, last_error=description
            )


def send_issue(issue_id):
    """
    Send every queued delivery of an issue that is due. Safe to call any number of times, from
    any number of workers: one holds the lease, the others come back when it would run out.

    Returns (what happened, when to run again or None); the task queue does the running again.
    """
    issue = NewsletterIssue.objects.filter(pk=issue_id, finished_at__isnull=True).first()
    if issue is None:
        return "finished", None
    sender = IssueSender(issue)
    if not sender.claim():
        expires_at = NewsletterIssue.objects.values_list("lease_expires_at", flat=True).get(
            pk=issue_id
        )
        # None: the other worker let go a moment ago; look again at once.
        return "another worker holds the lease", (expires_at or timezone.now()) + timedelta(
            seconds=1
        )
    try:
        sender.run()
    except LeaseLost:
        return "lease lost", None
    finally:
        sender.release()
    next_retry = issue.deliveries.filter(status=Delivery.Status.QUEUED).aggregate(
        at=Min("next_attempt_at")
    )["at"]
    if next_retry is not None:
        return "retries pending", next_retry
    NewsletterIssue.objects.filter(pk=issue_id).update(finished_at=timezone.now())
    return "finished", None
