from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from core.site import absolute_url
from newsletter import emails, issues, sending
from newsletter.models import Subscriber
from newsletter.tokens import TOPIC_MODELS, make_add_topic_token


def _send_or_retry(message, retry_task, subscriber_id, attempt, **arguments):
    try:
        message.send()
    except Exception as error:
        if not sending.is_temporary(error) or attempt >= settings.NEWSLETTER_MAX_ATTEMPTS:
            raise
        retry_at = timezone.now() + timedelta(seconds=settings.NEWSLETTER_RETRY_DELAY * attempt)
        retry_task.using(run_after=retry_at).enqueue(subscriber_id, attempt + 1, **arguments)
        return f"retrying after {error}"
    return "sent"


@task()
def send_confirmation(subscriber_id, attempt=1):
    subscriber = Subscriber.objects.filter(
        pk=subscriber_id, status=Subscriber.Status.PENDING
    ).first()
    if subscriber is None:
        return "no longer pending"
    message = emails.confirmation_message(subscriber)
    return _send_or_retry(message, send_confirmation, subscriber_id, attempt)


@task()
def send_already_subscribed(subscriber_id, attempt=1):
    subscriber = Subscriber.objects.confirmed().filter(pk=subscriber_id).first()
    if subscriber is None:
        return "no longer subscribed"
    message = emails.already_subscribed_message(subscriber)
    return _send_or_retry(message, send_already_subscribed, subscriber_id, attempt)


@task()
def send_welcome(subscriber_id, attempt=1):
    subscriber = Subscriber.objects.confirmed().filter(pk=subscriber_id).first()
    if subscriber is None:
        return "no longer subscribed"
    message = emails.welcome_message(subscriber)
    return _send_or_retry(message, send_welcome, subscriber_id, attempt)


@task()
def send_add_topic(subscriber_id, attempt=1, *, kind, topic_id):
    """Asks a confirmed subscriber to confirm adding a series or tag (`kind`, `topic_id`)."""
    subscriber = Subscriber.objects.confirmed().filter(pk=subscriber_id).first()
    if subscriber is None:
        return "no longer subscribed"
    if subscriber.everything:
        return "gets every post already"
    topic = TOPIC_MODELS[kind].objects.filter(pk=topic_id).first()
    if topic is None:
        return f"no such {kind}"
    token = make_add_topic_token(subscriber, topic)
    confirm_url = absolute_url(reverse("newsletter:add_topic", args=[token]))
    message = emails.add_topic_message(subscriber, topic, confirm_url)
    return _send_or_retry(
        message, send_add_topic, subscriber_id, attempt, kind=kind, topic_id=topic_id
    )


@task()
def send_issue(issue_id):
    outcome, run_again_at = sending.send_issue(issue_id)
    if run_again_at is not None:
        send_issue.using(run_after=run_again_at).enqueue(issue_id)
    return outcome


@task()
def send_planned_email(post_id):
    """Runs at a scheduled post's publish time, if the author chose to email it then."""
    with transaction.atomic():
        outcome, issue = issues.take_planned_send(post_id)
        if issue is not None:
            send_issue.enqueue(issue.pk)
    return outcome
