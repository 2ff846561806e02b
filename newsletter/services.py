"""What the newsletter does, as plain functions that views, the admin and commands call."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from blog.models import Series, Tag
from core.ratelimit import allow_request, client_ip, ip_bucket
from newsletter import issues, tasks
from newsletter.models import NewsletterIssue, PlannedSend, Subscriber, Suppression
from newsletter.tokens import email_digest, topic_kind

logger = logging.getLogger(__name__)


class RateLimited(Exception):
    pass


def box_wording(topic=None):
    """The words of the box the subscriber used: the newsletter's, or a series' or tag's (as
    templates/newsletter/_topic_box.html shows them)."""
    if isinstance(topic, Series):
        heading = "Tell me when the next part ships"
        text = f"We email you only new parts of the series “{topic}”, nothing else."
    elif isinstance(topic, Tag):
        heading = f"Get new posts tagged “{topic}” by email"
        text = f"We email you only new posts tagged “{topic}”, nothing else."
    else:
        heading, text = settings.NEWSLETTER_HEADING, settings.NEWSLETTER_TEXT
    return f"{heading}\n\n{text}"


def check_ip_limit(request):
    key = f"newsletter:subscribe:ip:{ip_bucket(client_ip(request))}"
    if not allow_request(key, settings.NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR, 3600):
        raise RateLimited


def _check_address_limit(email):
    key = f"newsletter:subscribe:address:{email_digest(email)}"
    if not allow_request(key, settings.NEWSLETTER_EMAILS_PER_ADDRESS_PER_DAY, 86_400):
        raise RateLimited


def _has_chosen(subscriber, topic):
    chosen = subscriber.series if isinstance(topic, Series) else subscriber.tags
    return chosen.filter(pk=topic.pk).exists()


def subscribe(email, *, page, topic=None):
    """
    Ask to subscribe `email` to every new post, or with `topic` (a Series or Tag) to only that.
    Every outcome looks the same to the person at the form; the address's owner learns which it
    was from the email: a confirmation link, a link to add the topic to what they already get,
    or a note that they are already subscribed. An address not confirmed yet takes the choice of
    its latest request. Raises RateLimited when the address has had enough email today.
    """
    _check_address_limit(email)
    now = timezone.now()
    consent = {
        "consent_at": now,
        "consent_page": page[:200],
        "consent_wording": box_wording(topic),
    }
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().with_email(email).first()
        created = False
        if subscriber is None:
            try:
                # The savepoint lets a concurrent insert of the same address lose cleanly.
                with transaction.atomic():
                    subscriber = Subscriber.objects.create(
                        email=email, everything=topic is None, **consent
                    )
                created = True
            except IntegrityError:
                subscriber = Subscriber.objects.select_for_update().with_email(email).get()
        if subscriber.status == Subscriber.Status.CONFIRMED:
            if topic is None or subscriber.everything or _has_chosen(subscriber, topic):
                tasks.send_already_subscribed.enqueue(subscriber.pk)
            else:
                tasks.send_add_topic.enqueue(
                    subscriber.pk, kind=topic_kind(topic), topic_id=topic.pk
                )
            return subscriber
        if not created:
            Subscriber.objects.filter(pk=subscriber.pk).update(
                status=Subscriber.Status.PENDING,
                confirmed_at=None,
                unsubscribed_at=None,
                everything=topic is None,
                **consent,
            )
        if topic is not None or not created:
            subscriber.series.set([topic] if isinstance(topic, Series) else [])
            subscriber.tags.set([topic] if isinstance(topic, Tag) else [])
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


def topic_words(topic):
    """A series or tag in words, as the welcome email lists what a subscriber gets."""
    return f"the series “{topic}”" if isinstance(topic, Series) else f"posts tagged “{topic}”"


def topic_state(subscriber, topic):
    """Whether a subscriber could add `topic`: "can add", "already chosen", "gets everything"
    (so nothing to add) or "not subscribed"."""
    if subscriber.status != Subscriber.Status.CONFIRMED:
        return "not subscribed"
    if subscriber.everything:
        return "gets everything"
    return "already chosen" if _has_chosen(subscriber, topic) else "can add"


def add_topic(subscriber, topic):
    """
    Add a series or tag to what a confirmed subscriber gets, as they asked from the email link.
    Returns "added", or why nothing changed: topic_state()'s other answers.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        state = topic_state(subscriber, topic)
        if state != "can add":
            return state
        (subscriber.series if isinstance(topic, Series) else subscriber.tags).add(topic)
    return "added"


def offered_series():
    return Series.objects.with_public_posts().distinct()


def offered_tags():
    return Tag.objects.with_public_posts().distinct()


def set_choices(subscriber, everything, series=(), tags=()):
    """Every new post, or only the given series and tags; the lists are kept only for the
    latter, so what is stored is what the subscriber gets."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(everything=everything)
        subscriber.everything = everything
        subscriber.series.set([] if everything else series)
        subscriber.tags.set([] if everything else tags)


def subscriber_data(subscriber):
    """Everything kept about a subscriber, as they may download it (GDPR art. 15 and 20)."""
    deliveries = subscriber.deliveries.select_related("issue").only(
        "status", "sent_at", "event", "event_at", "issue__subject", "issue__post_url"
    )
    return {
        "email": subscriber.email,
        "status": subscriber.status,
        "everything": subscriber.everything,
        "series": [{"title": s.title, "slug": s.slug} for s in subscriber.series.all()],
        "tags": [{"name": tag.name, "slug": tag.slug} for tag in subscriber.tags.all()],
        "created_at": subscriber.created_at,
        "confirmed_at": subscriber.confirmed_at,
        "unsubscribed_at": subscriber.unsubscribed_at,
        "consent": {
            "consent_at": subscriber.consent_at,
            "consent_page": subscriber.consent_page,
            "consent_wording": subscriber.consent_wording,
            "consent_source": subscriber.consent_source,
        },
        "deliveries": [
            {
                "subject": delivery.issue.subject,
                "post_url": delivery.issue.post_url,
                "status": delivery.status,
                "sent_at": delivery.sent_at,
                "event": delivery.event,
                "event_at": delivery.event_at,
            }
            for delivery in deliveries
        ],
    }


def erase(subscriber):
    """
    Forget a subscriber: their row goes, with their deliveries and choices; only a keyed hash
    of the address stays, so that an import can never add them back.
    """
    with transaction.atomic():
        Suppression.add(subscriber.email)
        Subscriber.objects.filter(pk=subscriber.pk).delete()


def send_post(post, *, user=None, again=False):
    """
    Create an issue for `post` with one delivery per subscriber who wants it; queue the send.
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
