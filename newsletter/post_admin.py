"""The post admin with the newsletter's part in it: "email it when it goes out" on the form,
the email's preview and test copy, and the list actions that send."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from blog.admin import PostAdmin
from core.ratelimit import allow_request
from newsletter import emails, issues, services
from newsletter.models import NewsletterIssue, PlannedSend, Subscriber

# Test copies go to the author's own address; this many an hour is plenty for proofreading.
TEST_EMAILS_PER_HOUR = 20

# The preview frame shows the email as mail clients do: its own inline styles, no script at all.
EMAIL_PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


class PostWithNewsletterForm(PostAdmin.form):
    email_subscribers = forms.BooleanField(
        label="Email this post to subscribers when it goes out",
        required=False,
        help_text="Now for Publish now; at its time for Schedule. Never twice.",
    )
    may_send = False
    sent_issue = None
    send_planned = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        email_field = self.fields["email_subscribers"]
        email_field.initial = self.send_planned or self.sent_issue is not None
        email_field.disabled = self.sent_issue is not None or not self.may_send
        if self.sent_issue is not None:
            when = timezone.localtime(self.sent_issue.created_at)
            email_field.help_text = (
                f"Emailed on {when:%Y-%m-%d %H:%M}. To send it again, use “Send again to "
                "subscribers” on the post list."
            )
        elif not self.may_send:
            email_field.help_text = "Only authors who may send newsletters can choose this."


def preview_subscriber(user):
    """Who a preview or test copy is addressed to: the author, standing in for a subscriber.
    Never saved, so its unsubscribe link leads nowhere."""
    return Subscriber(pk=0, email=user.email or "you@example.com")


def preview_message(post, user, *, test=False):
    """The email of `post` as a subscriber would get it, addressed to `user` in their place."""
    return emails.issue_message(
        issues.issue_content(post, user=user), preview_subscriber(user), test=test
    )


def recipient_counts(post):
    """How many would get `post` if it went out now, of how many confirmed subscribers. An
    unsaved post has no tags yet: only those who take every post are counted."""
    confirmed = Subscriber.objects.confirmed()
    if post is None or post.pk is None:
        recipients = confirmed.filter(everything=True)
    else:
        recipients = Subscriber.objects.recipients_of(post)
    return {"recipients": recipients.count(), "confirmed_subscribers": confirmed.count()}


class PostWithNewsletterAdmin(PostAdmin):
    form = PostWithNewsletterForm
    change_form_template = "admin/newsletter/post_change_form.html"
    list_display = [*PostAdmin.list_display, "last_sent"]
    actions = [*PostAdmin.actions, "send_to_subscribers", "send_again_to_subscribers"]
    publishing_fields = [*PostAdmin.publishing_fields, "email_subscribers"]

    def get_urls(self):
        admin_view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/email/",
                admin_view(self.email_preview_view),
                name="blog_post_email_preview",
            ),
            path(
                "<path:object_id>/email/html/",
                admin_view(xframe_options_sameorigin(self.email_html_view)),
                name="blog_post_email_html",
            ),
            path(
                "<path:object_id>/email/test/",
                admin_view(require_POST(self.email_test_view)),
                name="blog_post_email_test",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(last_sent_at=Max("newsletter_issues__created_at"))
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        # A class made for this request, so these are this request's alone.
        form.may_send = self.has_send_newsletter_permission(request)
        form.sent_issue = obj and NewsletterIssue.objects.filter(post=obj).first()
        form.send_planned = bool(obj and PlannedSend.objects.filter(post=obj).exists())
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(recipient_counts(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if form.sent_issue is not None:
            return
        # Without the permission the box is disabled and so keeps its initial value: a send
        # another author planned still follows the post when this user moves or unpublishes it.
        note = services.email_when_it_goes_out(
            form.instance,
            user=request.user,
            wanted=form.cleaned_data["email_subscribers"],
            unpublished=form.publish_action == "unpublish",
        )
        if note:
            self.message_user(request, note, messages.INFO)

    def publish_now(self, request, queryset):
        super().publish_now(request, queryset)
        # A draft's "email it when it goes out" holds for the list's publish too.
        for plan in PlannedSend.objects.filter(post__in=queryset).select_related("post"):
            note = services.email_when_it_goes_out(plan.post, user=request.user, wanted=True)
            if note:
                self.message_user(request, f"“{plan.post}”: {note}", messages.INFO)

    publish_now.short_description = PostAdmin.publish_now.short_description
    publish_now.allowed_permissions = PostAdmin.publish_now.allowed_permissions

    def unpublish(self, request, queryset):
        super().unpublish(request, queryset)
        for plan in PlannedSend.objects.filter(post__in=queryset).select_related("post"):
            services.email_when_it_goes_out(plan.post, user=request.user, wanted=False)

    unpublish.short_description = PostAdmin.unpublish.short_description
    unpublish.allowed_permissions = PostAdmin.unpublish.allowed_permissions

    @admin.display(description="Emailed", ordering="last_sent_at")
    def last_sent(self, post):
        return post.last_sent_at

    def has_send_newsletter_permission(self, request):
        return request.user.has_perm("newsletter.add_newsletterissue")

    def _post_for_email(self, request, object_id):
        post = self.get_object(request, unquote(object_id))
        if post is None or not self.has_view_or_change_permission(request, post):
            raise PermissionDenied
        return post

    def email_preview_view(self, request, object_id):
        post = self._post_for_email(request, object_id)
        message = preview_message(post, request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"The email of “{post}”",
            "subtitle": None,
            "opts": self.opts,
            "original": post,
            "message": message,
            "from_email": message.from_email or settings.DEFAULT_FROM_EMAIL,
            "test_address": request.user.email,
            "can_send_test": self.has_send_newsletter_permission(request),
            **recipient_counts(post),
            "already_sent": NewsletterIssue.objects.filter(post=post).first(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/newsletter/email_preview.html", context)

    def email_html_view(self, request, object_id):
        post = self._post_for_email(request, object_id)
        html, _ = preview_message(post, request.user).alternatives[0]
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = EMAIL_PREVIEW_POLICY
        return response

    def email_test_view(self, request, object_id):
        post = self._post_for_email(request, object_id)
        back = reverse("admin:blog_post_email_preview", args=[post.pk])
        if not self.has_send_newsletter_permission(request):
            raise PermissionDenied
        if not request.user.email:
            self.message_user(
                request,
                "Your user has no email address: add one to your user to get test copies.",
                messages.ERROR,
            )
            return HttpResponseRedirect(back)
        if not allow_request(f"newsletter:test:{request.user.pk}", TEST_EMAILS_PER_HOUR, 3600):
            self.message_user(
                request, "That is enough test copies for this hour; try later.", messages.ERROR
            )
            return HttpResponseRedirect(back)
        message = preview_message(post, request.user, test=True)
        try:
            message.send()
        except Exception as error:  # the mail server's own words help the author most
            self.message_user(request, f"The test copy could not be sent: {error}", messages.ERROR)
        else:
            self.message_user(
                request, f"Sent a test copy to {request.user.email}.", messages.SUCCESS
            )
        return HttpResponseRedirect(back)

    @admin.action(description="Send to subscribers", permissions=["send_newsletter"])
    def send_to_subscribers(self, request, queryset):
        self._send(request, queryset, again=False)

    @admin.action(
        description="Send again to subscribers (even if sent before)",
        permissions=["send_newsletter"],
    )
    def send_again_to_subscribers(self, request, queryset):
        self._send(request, queryset, again=True)

    def _send(self, request, queryset, *, again):
        for post in queryset:
            try:
                issue = services.send_post(post, user=request.user, again=again)
            except issues.NotPublic:
                self.message_user(
                    request,
                    f"“{post}” is not published yet, so it was not sent.",
                    messages.ERROR,
                )
            except issues.AlreadySent as sent:
                sent_at = timezone.localtime(sent.issue.created_at)
                self.message_user(
                    request,
                    f"“{post}” was already sent on {sent_at:%Y-%m-%d %H:%M}; "
                    "use “Send again to subscribers” to send it once more.",
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    f"Sending “{post}” to {issue.deliveries.count()} subscriber(s).",
                    messages.SUCCESS,
                )
