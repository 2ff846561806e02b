"""What the newsletter does, as plain functions that views, the admin and commands call."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.ratelimit import allow_request, client_ip, ip_bucket
from newsletter import issues, tasks
from newsletter.models import NewsletterIssue, PlannedSend, Subscriber
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
    """Confirm a pending subscriber and send the welcome email. Returns False when there was
    nothing to confirm."""
    with transaction.atomic():
        confirmed = Subscriber.objects.filter(
            pk=subscriber.pk, status=Subscriber.Status.PENDING
        ).update(status=Subscriber.Status.CONFIRMED, confirmed_at=timezone.now())
        if confirmed:
            tasks.send_welcome.enqueue(subscriber.pk)
    return bool(confirmed)


def unsubscribe(subscriber):
    """Takes effect at once, also for an issue that is being sent right now."""
    return bool(
        Subscriber.objects.filter(pk=subscriber.pk)
        .exclude(status=Subscriber.Status.UNSUBSCRIBED)
        .update(status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now())
    )


def send_post(post, *, user=None, again=False):
    """
    Create an issue for `post` with one delivery per confirmed subscriber and queue the send.
    A post already sent raises AlreadySent unless `again` says the author means it.
    """
    with transaction.atomic():
        issue = issues.new_issue(post, user=user, again=again)
        tasks.send_issue.enqueue(issue.pk)
    logger.info("Queued issue %s (%s)", issue.pk, issue.subject)
    return issue


def email_when_it_goes_out(post, *, user, wanted, unpublished=False):
    """
    Keep the author's choice, made on the post form, to email `post` to subscribers when it goes
    out: a live post is sent now; a scheduled one when its time comes, by a task queued to run
    then (moving the time queues a new one; the old one finds it is not due and does nothing);
    a draft's choice waits for it to be published. Unpublishing cancels a planned send, and a
    post already sent is never sent again from here. Returns what to tell the author.
    """
    with transaction.atomic():
        plan = PlannedSend.objects.select_for_update().filter(post=post).first()
        if not wanted or unpublished or NewsletterIssue.objects.filter(post=post).exists():
            if plan is None:
                return ""
            plan.delete()
            return "The planned email to subscribers is cancelled."
        if post.is_public:
            if plan is not None:
                plan.delete()
            issue = send_post(post, user=user)
            return f"Emailing it to {issue.deliveries.count()} subscriber(s)."
        send_at = post.published_at if post.is_scheduled else None
        PlannedSend.objects.update_or_create(
            post=post,
            defaults={"send_at": send_at},
            # Whoever moves the post later moves the send too; it stays the planner's choice.
            create_defaults={"send_at": send_at, "planned_by": user},
        )
        if send_at is None:
            return "It will be emailed to subscribers when you publish it."
        if plan is None or plan.send_at != send_at:
            tasks.send_planned_email.using(run_after=send_at).enqueue(post.pk)
    when = timezone.localtime(send_at)
    return f"It will be emailed to subscribers at {when:%Y-%m-%d %H:%M %Z}, as it goes out."
