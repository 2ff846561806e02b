"""Reports from the email provider (bounces, complaints, unsubscribes), through anymail."""

import logging
import re

from anymail.signals import EventType, RejectReason
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpResponseBadRequest
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from newsletter.models import Delivery, Subscriber

logger = logging.getLogger(__name__)

# Temporary failures in a row (one per email) that stop the sending, as a hard bounce does.
SOFT_BOUNCE_LIMIT = 3
DETAIL_LENGTH = 1000

STOPPING_EVENTS = {
    Delivery.Event.BOUNCED: Subscriber.Status.BOUNCED,
    Delivery.Event.COMPLAINED: Subscriber.Status.COMPLAINED,
    Delivery.Event.UNSUBSCRIBED: Subscriber.Status.UNSUBSCRIBED,
}


def apply_event(event, *, email, message_id="", delivery=None, detail="", at=None):
    """Records what the provider (or the SMTP server) reported about an email, and stops sending
    to a subscriber who bounced, complained or unsubscribed. False when the email and address
    are unknown, and then nothing changes.

    Providers retry webhooks, and report each retry of a deferred message: a report the delivery
    already records changes nothing, and a soft bounce counts once per email."""
    at = at or timezone.now()
    with transaction.atomic():
        if delivery is None and message_id:
            delivery = (
                Delivery.objects.filter(message_id=message_id).select_related("subscriber").first()
            )
        if delivery is not None:
            subscriber = delivery.subscriber
        else:
            subscriber = Subscriber.objects.with_email(email).first()
        if subscriber is None:
            return False
        if delivery is not None and not _record_on_delivery(delivery, event, at, detail):
            return True

        stoppable = Subscriber.objects.filter(
            pk=subscriber.pk, status__in=[Subscriber.Status.PENDING, Subscriber.Status.CONFIRMED]
        )
        if event in STOPPING_EVENTS:
            stoppable.update(status=STOPPING_EVENTS[event], unsubscribed_at=at)
        elif event == Delivery.Event.SOFT_BOUNCE and delivery is not None:
            # Without the email it was about, a retried report could not be told from a new one.
            Subscriber.objects.filter(pk=subscriber.pk).update(soft_bounces=F("soft_bounces") + 1)
            stoppable.filter(soft_bounces__gte=SOFT_BOUNCE_LIMIT).update(
                status=Subscriber.Status.BOUNCED, unsubscribed_at=at
            )
        elif event == Delivery.Event.DELIVERED:
            Subscriber.objects.filter(pk=subscriber.pk, soft_bounces__gt=0).update(soft_bounces=0)
    return True


def _record_on_delivery(delivery, event, at, detail):
    """Writes the event on the delivery unless it says nothing new; True when it was written."""
    # One conditional UPDATE, so two copies of a report arriving at once cannot both count.
    changed = Delivery.objects.filter(pk=delivery.pk)
    if event == Delivery.Event.SOFT_BOUNCE:
        changed = changed.exclude(event=Delivery.Event.SOFT_BOUNCE)
    else:
        changed = changed.exclude(event=event, event_at=at)
    if event in (Delivery.Event.SOFT_BOUNCE, Delivery.Event.DELIVERED):
        # Reports can arrive out of order: a delay reported after the delivery is old news.
        changed = changed.exclude(event_at__gt=at)
    detail = detail[:DETAIL_LENGTH]
    if not changed.update(event=event, event_at=at, event_detail=detail):
        return False
    # The caller may save its copy of the delivery afterwards; it must not undo this.
    delivery.event, delivery.event_at, delivery.event_detail = event, at, detail
    return True


def record_tracking_event(sender, event, esp_name, **kwargs):
    """anymail's tracking signal: the provider's webhook, parsed and checked by anymail."""
    ours = delivery_event(event, esp_name)
    if ours is None:
        return
    apply_event(
        ours,
        email=event.recipient or "",
        message_id=event.message_id or "",
        detail=" ".join(part for part in (event.description, event.mta_response) if part),
        at=event.timestamp,
    )


REJECTED_BECAUSE = {
    # The provider refused to send because of what it knows about the address; if we missed
    # that report, this is how we learn it.
    RejectReason.BOUNCED: Delivery.Event.BOUNCED,
    RejectReason.INVALID: Delivery.Event.BOUNCED,
    RejectReason.SPAM: Delivery.Event.COMPLAINED,
    RejectReason.UNSUBSCRIBED: Delivery.Event.UNSUBSCRIBED,
}


def delivery_event(event, esp_name):
    """The `Delivery.Event` an anymail tracking event means, or None for those that change
    nothing here (queued, sent, opened, clicked...)."""
    match event.event_type:
        case EventType.BOUNCED:
            if is_temporary_bounce(event, esp_name):
                return Delivery.Event.SOFT_BOUNCE
            return Delivery.Event.BOUNCED
        case EventType.DEFERRED:
            return Delivery.Event.SOFT_BOUNCE
        case EventType.REJECTED:
            return REJECTED_BECAUSE.get(event.reject_reason)
        case EventType.COMPLAINED:
            return Delivery.Event.COMPLAINED
        case EventType.UNSUBSCRIBED:
            return Delivery.Event.UNSUBSCRIBED
        case EventType.DELIVERED:
            return Delivery.Event.DELIVERED
    return None


TEMPORARY_SMTP_REPLY = re.compile(r"\s*(smtp;\s*)?4\d\d\b", re.IGNORECASE)


def is_temporary_bounce(event, esp_name):
    """anymail reports some providers' soft bounces as "bounced"; only their own fields tell.
    (Mailgun's temporary failures already arrive as "deferred".)"""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if esp_name == "Postmark":
        return raw.get("Type") == "SoftBounce"
    if esp_name in ("Brevo", "SendinBlue"):
        return raw.get("event") == "soft_bounce"
    if esp_name == "Amazon SES":
        # AWS advises removing an address on a Permanent bounce only (not Transient or
        # Undetermined).
        return raw.get("bounce", {}).get("bounceType") != "Permanent"
    if esp_name == "SendGrid":
        # SendGrid's "blocked": the receiving server would not take it for now.
        return raw.get("type") == "blocked"
    return bool(TEMPORARY_SMTP_REPLY.match(event.mta_response or ""))


def tracking_view_class(provider):
    """anymail's tracking webhook view for the provider, by the name anymail's own URLs give it,
    or None when anymail has none (the console and SMTP backends, Scaleway)."""
    try:
        match = resolve(f"/{provider}/tracking/", urlconf="anymail.urls")
    except Resolver404:
        return None
    if match.url_name != f"{provider}_tracking_webhook":
        return None
    return match.func.view_class


def open_tracking_view(provider):
    """An instance of the provider's tracking view, reading the settings of the moment, and
    None with the reason when it would not prove a request came from the provider."""
    view_class = tracking_view_class(provider)
    if view_class is None:
        return None, f"anymail has no tracking webhook for {provider!r}."
    try:
        view = view_class()
    except ImproperlyConfigured as error:
        # Signed webhooks (Mailgun's) refuse to start without their key.
        return None, str(error)
    # Where basic auth is the only proof, anymail only warns when WEBHOOK_SECRET is missing and
    # lets anyone post; we do not.
    if getattr(view, "warn_if_no_basic_auth", False) and not view.basic_auth:
        return None, "ANYMAIL_WEBHOOK_SECRET is not set, so it would accept anyone's posts."
    return view, ""


# Providers post without cookies, so there is no CSRF token to check; anymail checks each post's
# signature or basic auth instead.
@csrf_exempt
def webhook(request, provider):
    provider = provider.replace("-", "_")
    if not settings.EMAIL_PROVIDER or provider != settings.EMAIL_PROVIDER:
        raise Http404("The site does not send through this provider.")
    view, problem = open_tracking_view(provider)
    if view is None:
        logger.error("Refused the %s tracking webhook: %s", provider, problem)
        raise Http404("This provider's webhook is not enabled.")
    view.setup(request)
    try:
        # A bad signature or password is anymail's AnymailWebhookValidationFailure, a
        # SuspiciousOperation, which Django answers with a 400.
        return view.dispatch(request)
    except (ValueError, KeyError, TypeError):
        logger.warning("Unreadable %s tracking webhook", provider, exc_info=True)
        return HttpResponseBadRequest(
            f"This is not a {provider} tracking event.", content_type="text/plain"
        )
