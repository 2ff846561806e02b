from django.conf import settings
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe
from django.views.generic import ListView

from blog.models import Post
from core.outage import DATABASE_OUTAGE_ERRORS, outage_response
from newsletter import emails, services
from newsletter.context_processors import newsletter_box
from newsletter.forms import ChoicesForm, EraseForm, SubscribeForm
from newsletter.models import NewsletterIssue, Subscriber
from newsletter.tokens import (
    ExpiredToken,
    InvalidToken,
    make_manage_token,
    subscriber_from_confirm_token,
    subscriber_from_manage_token,
    subscriber_from_unsubscribe_token,
    topic_from_add_topic_token,
)


def _check_inbox_redirect():
    return HttpResponseRedirect(reverse("newsletter:check_inbox"), status=303)


def _rate_limited(request):
    return render(request, "newsletter/rate_limited.html", status=429)


# The subscribe form sits on pages cached for every anonymous reader, so it carries no
# per-visitor CSRF token. Exempting this one view is safe: a subscribe request changes nothing
# for the address's owner until they confirm from the email, on an uncached page whose form is
# CSRF-protected. Abuse is bounded by the honeypot and the per-IP and per-address rate limits.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request):
    if request.method != "POST":
        form = SubscribeForm(initial={"page": request.path})
        return render(request, "newsletter/subscribe.html", {"form": form})
    try:
        return _subscribe_post(request)
    except DATABASE_OUTAGE_ERRORS as error:
        # The address stays in the form, so trying again is one press of the button.
        context = {"form": SubscribeForm(request.POST), **newsletter_box(request)}
        return outage_response(request, error, "newsletter/subscribe_unavailable.html", context)


def _subscribe_post(request):
    try:
        services.check_ip_limit(request)
    except services.RateLimited:
        return _rate_limited(request)
    if request.POST.get("website"):
        return _check_inbox_redirect()
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render(request, "newsletter/subscribe.html", {"form": form}, status=400)
    try:
        services.subscribe(
            form.cleaned_data["email"],
            page=form.cleaned_data["page"] or request.path,
            topic=form.cleaned_data["topic"],
        )
    except services.RateLimited:
        return _rate_limited(request)
    return _check_inbox_redirect()


@require_safe
def check_inbox(request):
    return render(
        request, "newsletter/check_inbox.html", {"days": settings.NEWSLETTER_CONFIRM_DAYS}
    )


def _resubscribe_form(subscriber):
    # Not request.path: these pages' addresses hold tokens, which don't belong in consent records.
    return SubscribeForm(
        initial={"email": subscriber.email, "page": reverse("newsletter:subscribe")}
    )


def _invalid_link(request):
    return render(request, "newsletter/invalid_link.html", status=400)


def _manage_path(subscriber):
    return reverse("newsletter:manage", args=[make_manage_token(subscriber)])


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    try:
        subscriber = subscriber_from_confirm_token(token)
    except ExpiredToken as expired:
        subscriber = Subscriber.objects.get(pk=expired.subscriber_id)
        form = _resubscribe_form(subscriber)
        context = {
            "form": form,
            "subscribed": subscriber.status == Subscriber.Status.CONFIRMED,
            "days": settings.NEWSLETTER_CONFIRM_DAYS,
        }
        return render(request, "newsletter/confirm_expired.html", context, status=410)
    except InvalidToken:
        return _invalid_link(request)
    if request.method == "POST":
        services.confirm(subscriber)
        return redirect(request.path)
    form = _resubscribe_form(subscriber)
    context = {"subscriber": subscriber, "form": form, "manage_url": _manage_path(subscriber)}
    return render(request, "newsletter/confirm.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    try:
        subscriber = subscriber_from_unsubscribe_token(token)
    except InvalidToken:
        return _invalid_link(request)
    if request.method == "POST":
        services.unsubscribe(subscriber)
        return redirect(request.path)
    form = _resubscribe_form(subscriber)
    context = {
        "subscriber": subscriber,
        "form": form,
        "token": token,
        "manage_url": _manage_path(subscriber),
    }
    return render(request, "newsletter/unsubscribe.html", context)


# RFC 8058: mail clients POST here with no cookies and no CSRF token, and expect no redirect.
# Only POST changes anything, so link scanners that fetch every URL unsubscribe no one.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_one_click(request, token):
    if request.method != "POST":
        return unsubscribe(request, token)
    try:
        subscriber = subscriber_from_unsubscribe_token(token)
    except InvalidToken:
        return _invalid_link(request)
    services.unsubscribe(subscriber)
    return render(request, "newsletter/unsubscribed.html")


class ArchiveView(ListView):
    """What was emailed, newest first: issues of posts that are public now."""

    template_name = "newsletter/archive.html"
    context_object_name = "issues"
    paginate_by = 50

    def get_queryset(self):
        return (
            NewsletterIssue.objects.filter(post__in=Post.objects.published())
            .select_related("post")
            .only("subject", "created_at", "post__slug")
        )


def _status_words(subscriber):
    Status = Subscriber.Status
    return {
        Status.PENDING: "Waiting for you to confirm: press the button in the confirmation email. "
        "Nothing is sent until you do.",
        Status.CONFIRMED: f"Subscribed: you get {emails.choices_summary(subscriber)} by email.",
        Status.UNSUBSCRIBED: "Unsubscribed: nothing is sent to this address.",
        Status.BOUNCED: "Stopped: emails to this address bounced, so nothing is sent to it.",
        Status.COMPLAINED: "Stopped: an email to this address was marked as spam, so nothing "
        "more is sent to it.",
    }[subscriber.status]


# Choices matter only while emails may go out; a stopped subscriber comes back through the
# subscribe form, confirming by email again.
CHOOSING = (Subscriber.Status.PENDING, Subscriber.Status.CONFIRMED)


def _manage_page(request, subscriber, token, *, choices_form=None, erase_form=None, status=200):
    if subscriber.status in CHOOSING:
        choices_form = choices_form or ChoicesForm(subscriber=subscriber)
        resubscribe_form = None
    else:
        choices_form, resubscribe_form = None, _resubscribe_form(subscriber)
    context = {
        "subscriber": subscriber,
        "token": token,
        "status_words": _status_words(subscriber),
        "choices_form": choices_form,
        "erase_form": erase_form or EraseForm(),
        "form": resubscribe_form,
    }
    return render(request, "newsletter/manage.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token):
    """A subscriber's own page, from the link in every email: choose, leave, download, erase."""
    try:
        subscriber = subscriber_from_manage_token(token)
    except InvalidToken:
        return _invalid_link(request)
    prefetch_related_objects([subscriber], "series", "tags")
    if request.method != "POST":
        return _manage_page(request, subscriber, token)
    action = request.POST.get("action")
    if action == "choices" and subscriber.status in CHOOSING:
        form = ChoicesForm(request.POST, subscriber=subscriber)
        if not form.is_valid():
            return _manage_page(request, subscriber, token, choices_form=form, status=400)
        data = form.cleaned_data
        services.set_choices(subscriber, data["everything"], data["series"], data["tags"])
        messages.success(request, f"Saved: you get {emails.choices_summary(subscriber)}.")
    elif action == "unsubscribe":
        services.unsubscribe(subscriber)
        messages.success(request, "Saved: you are unsubscribed. Nothing more will be sent.")
    elif action == "erase":
        form = EraseForm(request.POST)
        if not form.is_valid():
            return _manage_page(request, subscriber, token, erase_form=form, status=400)
        services.erase(subscriber)
        return render(request, "newsletter/erased.html")
    else:
        messages.error(request, "Nothing was changed: that is not something this page can do.")
        return _manage_page(request, subscriber, token, status=400)
    return HttpResponseRedirect(request.path, status=303)


@never_cache
@require_safe
def manage_data(request, token):
    """What we keep about the subscriber, as a JSON file to save."""
    try:
        subscriber = subscriber_from_manage_token(token)
    except InvalidToken:
        return _invalid_link(request)
    response = JsonResponse(services.subscriber_data(subscriber), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="newsletter-data.json"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def add_topic(request, token):
    """From the email sent when a confirmed subscriber asked for a series or tag: GET asks,
    POST adds it."""
    try:
        subscriber, topic = topic_from_add_topic_token(token)
    except ExpiredToken:
        context = {"expired": True, "days": settings.NEWSLETTER_CONFIRM_DAYS}
        return render(request, "newsletter/add_topic.html", context, status=410)
    except InvalidToken:
        return _invalid_link(request)
    words = services.topic_words(topic)
    if request.method == "POST":
        outcome = services.add_topic(subscriber, topic)
        messages.success(request, ADD_TOPIC_OUTCOMES[outcome].format(words=words))
        return HttpResponseRedirect(request.path, status=303)
    context = {
        "subscriber": subscriber,
        "topic_words": words,
        "state": services.topic_state(subscriber, topic),
        "manage_url": _manage_path(subscriber),
    }
    return render(request, "newsletter/add_topic.html", context)


ADD_TOPIC_OUTCOMES = {
    "added": "Added: you will get {words} too.",
    "already chosen": "You already get {words}: nothing changed.",
    "gets everything": "You already get every new post, {words} among them: nothing changed.",
    "not subscribed": "This address is no longer subscribed, so nothing was added.",
}
