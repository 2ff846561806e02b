from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe
from django.views.generic import ListView

from blog.models import Post
from core.outage import DATABASE_OUTAGE_ERRORS, outage_response
from newsletter import services
from newsletter.context_processors import newsletter_box
from newsletter.forms import SubscribeForm
from newsletter.models import NewsletterIssue, Subscriber
from newsletter.tokens import (
    ExpiredToken,
    InvalidToken,
    subscriber_from_confirm_token,
    subscriber_from_unsubscribe_token,
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
            form.cleaned_data["email"], page=form.cleaned_data["page"] or request.path
        )
    except services.RateLimited:
        return _rate_limited(request)
    return _check_inbox_redirect()


@require_safe
def check_inbox(request):
    return render(request, "newsletter/check_inbox.html")


def _resubscribe_form(subscriber):
    # Not request.path: these pages' addresses hold tokens, which don't belong in consent records.
    return SubscribeForm(
        initial={"email": subscriber.email, "page": reverse("newsletter:subscribe")}
    )


def _invalid_link(request):
    return render(request, "newsletter/invalid_link.html", status=400)


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
    return render(request, "newsletter/confirm.html", {"subscriber": subscriber, "form": form})


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
    context = {"subscriber": subscriber, "form": form, "token": token}
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


def manage(request, token):
    raise NotImplementedError


def manage_data(request, token):
    raise NotImplementedError
