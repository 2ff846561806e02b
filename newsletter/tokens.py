"""Signed links in emails, salted per purpose so that one kind can't stand in for another."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist

from blog.models import Series, Tag
from newsletter.models import Subscriber

CONFIRM_SALT = "newsletter.confirm"
UNSUBSCRIBE_SALT = "newsletter.unsubscribe"
MANAGE_SALT = "newsletter.manage"
ADD_TOPIC_SALT = "newsletter.add_topic"


class InvalidToken(Exception):
    pass


class ExpiredToken(Exception):
    def __init__(self, subscriber_id):
        super().__init__("expired")
        self.subscriber_id = subscriber_id


def email_digest(email):
    # Ties the token to the address without putting the address itself in URLs and access logs.
    return hashlib.sha256(email.lower().encode()).hexdigest()[:16]


def make_confirm_token(subscriber):
    return signing.dumps([subscriber.pk, email_digest(subscriber.email)], salt=CONFIRM_SALT)


def make_unsubscribe_token(subscriber):
    return signing.dumps([subscriber.pk, email_digest(subscriber.email)], salt=UNSUBSCRIBE_SALT)


def make_manage_token(subscriber):
    return signing.dumps([subscriber.pk, email_digest(subscriber.email)], salt=MANAGE_SALT)


def _subscriber_for(payload):
    try:
        subscriber_id, digest = payload
        subscriber = Subscriber.objects.get(pk=int(subscriber_id))
    except (TypeError, ValueError, Subscriber.DoesNotExist) as error:
        raise InvalidToken from error
    if digest != email_digest(subscriber.email):
        raise InvalidToken
    return subscriber


def subscriber_from_confirm_token(token):
    """The subscriber a confirmation link is for; ExpiredToken after NEWSLETTER_CONFIRM_DAYS."""
    max_age = timedelta(days=settings.NEWSLETTER_CONFIRM_DAYS)
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        # Still signed by us, only old: say which address so the page can offer a new link.
        subscriber = _subscriber_for(signing.loads(token, salt=CONFIRM_SALT))
        raise ExpiredToken(subscriber.pk) from error
    except signing.BadSignature as error:
        raise InvalidToken from error
    return _subscriber_for(payload)


def subscriber_from_unsubscribe_token(token):
    """Unsubscribe links never expire; signing falls back to DJANGO_SECRET_KEY_FALLBACKS."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as error:
        raise InvalidToken from error
    return _subscriber_for(payload)


def subscriber_from_manage_token(token):
    """Manage links never expire either: they are in every email, as unsubscribe links are."""
    try:
        payload = signing.loads(token, salt=MANAGE_SALT)
    except signing.BadSignature as error:
        raise InvalidToken from error
    return _subscriber_for(payload)


TOPIC_MODELS = {"series": Series, "tag": Tag}


def topic_kind(topic):
    """ "series" or "tag": which of the two a subscriber's chosen topic is."""
    return topic._meta.model_name


def make_add_topic_token(subscriber, topic):
    """The link in the email asking a confirmed subscriber to add a series or tag."""
    payload = [subscriber.pk, email_digest(subscriber.email), topic_kind(topic), topic.pk]
    return signing.dumps(payload, salt=ADD_TOPIC_SALT)


def topic_from_add_topic_token(token):
    """
    The subscriber and the series or tag an add-topic link is for. ExpiredToken after
    NEWSLETTER_CONFIRM_DAYS; InvalidToken when it was changed, or the series or tag is gone.
    """
    max_age = timedelta(days=settings.NEWSLETTER_CONFIRM_DAYS)
    try:
        payload = signing.loads(token, salt=ADD_TOPIC_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        subscriber_id, digest, *_ = signing.loads(token, salt=ADD_TOPIC_SALT)
        raise ExpiredToken(_subscriber_for([subscriber_id, digest]).pk) from error
    except signing.BadSignature as error:
        raise InvalidToken from error
    try:
        subscriber_id, digest, kind, topic_id = payload
        topic = TOPIC_MODELS[kind].objects.get(pk=int(topic_id))
    except (TypeError, ValueError, KeyError, ObjectDoesNotExist) as error:
        raise InvalidToken from error
    return _subscriber_for([subscriber_id, digest]), topic
