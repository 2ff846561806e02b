"""What the newsletter does, as plain functions that views, the admin and commands call."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from blog.models import Post
from core.ratelimit import allow_request, client_ip, ip_bucket
from newsletter import emails, tasks
from newsletter.models import Delivery, NewsletterIssue, Subscriber
from newsletter.tokens import email_digest

logger = logging.getLogger(__name__)


class RateLimited(Exception):
    pass


def box_wording():
    return f"{settings.NEWSLETTER_HEADING}\n\n{settings.NEWSLETTER_TEXT}"


def check_ip_limit(request):
    key = f"newsletter:subscribe:ip:{ip_bucket(client_ip(request))}"
    if not allow_request(key, settings.NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR, 3600):
        raise RateLimited


def _check_address_limit(email):
    key = f"newsletter:subscribe:address:{email_digest(email)}"
    if not allow_request(key, settings.NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY, 86_400):
        raise RateLimited


def subscribe(email, *, page):
    """
    Ask to subscribe `email`. Every outcome looks the same to the person at the form; the
    address's owner learns which it was from the email: a confirmation link, or a note that
    they are already subscribed. Raises RateLimited when the address has had enough email today.
    """
    _check_address_limit(email)
    now = timezone.now()
    consent = {"consent_at": now, "consent_page": page[:200], "consent_wording": box_wording()}
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().with_email(email).first()
        created = False
        if subscriber is None:
            try:
                # The savepoint lets a concurrent insert of the same address lose cleanly.
                with transaction.atomic():
                    subscriber = Subscriber.objects.create(email=email, **consent)
                created = True
            except IntegrityError:
                subscriber = Subscriber.objects.select_for_update().with_email(email).get()
        if subscriber.status == Subscriber.Status.CONFIRMED:
            tasks.send_already_subscribed.enqueue(subscriber.pk)
            return subscriber
        if not created:
            Subscriber.objects.filter(pk=subscriber.pk).update(
                status=Subscriber.Status.PENDING,
                confirmed_at=None,
                unsubscribed_at=None,
                **consent,
            )
        tasks.send_confirmation.enqueue(subscriber.pk)
    return subscriber


def confirm(subscriber):
    """Confirm a pending subscriber. Returns False when there was nothing to confirm."""
    return bool(
        Subscriber.objects.filter(pk=subscriber.pk, status=Subscriber.Status.PENDING).update(
            status=Subscriber.Status.CONFIRMED, confirmed_at=timezone.now()
        )
    )


def unsubscribe(subscriber):
    """Takes effect at once, also for an issue that is being sent right now."""
    return bool(
        Subscriber.objects.filter(pk=subscriber.pk)
        .exclude(status=Subscriber.Status.UNSUBSCRIBED)
        .update(status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    )


class NotPublic(Exception):
    pass


class AlreadySent(Exception):
    def __init__(self, issue):
        super().__init__(f"issue {issue.pk} already sent this post")
        self.issue = issue


def create_issue(post, subscribers, *, user=None):
    """An issue of `post`, rendered for email once, with one queued delivery per subscriber."""
    issue = NewsletterIssue.objects.create(
        post=post,
        subject=post.title,
        post_url=emails.absolute_url(post.get_absolute_url()),
        html_body=emails.inline_styled(post.body_html),
        text_body=post.body,
        created_by=user,
    )
    subscriber_ids = subscribers.order_by("pk").values_list("pk", flat=True)
    Delivery.objects.bulk_create(
        (Delivery(issue=issue, subscriber_id=pk) for pk in subscriber_ids.iterator()),
        batch_size=1000,
    )
    return issue


def send_post(post, *, user=None, again=False):
    """
    Create an issue for `post` with one delivery per confirmed subscriber and queue the send.
    A post already sent raises AlreadySent unless `again` says the author means it.
    """
    if not Post.objects.published().filter(pk=post.pk).exists():
        raise NotPublic
    with transaction.atomic():
        # Serialises two authors pressing send on the same post at the same moment.
        Post.objects.select_for_update().filter(pk=post.pk).first()
        previous = NewsletterIssue.objects.filter(post=post).first()
        if previous is not None and not again:
            raise AlreadySent(previous)
        issue = create_issue(post, Subscriber.objects.confirmed(), user=user)
        tasks.send_issue.enqueue(issue.pk)
    logger.info("Queued issue %s (%s)", issue.pk, issue.subject)
    return issue
