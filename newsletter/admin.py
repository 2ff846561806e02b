import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from blog.models import Post, Series, Tag
from newsletter import importing, tasks
from newsletter.models import Delivery, NewsletterIssue, Subscriber
from newsletter.post_admin import PostWithNewsletterAdmin

CSV_COLUMNS = [
    "email",
    "status",
    "created_at",
    "consent_at",
    "consent_page",
    "consent_wording",
    "confirmed_at",
    "unsubscribed_at",
    "consent_source",
    "everything",
    "series",
    "tags",
    "soft_bounces",
]
# The columns that are the subscriber's own fields; "series" and "tags" list slugs.
CSV_FIELDS = [column for column in CSV_COLUMNS if column not in {"series", "tags"}]
IMPORT_MAX_MB = 20


def _csv_cell(value):
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula; an address may start with "=".
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def subscribers_csv(queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    subscribers = (
        queryset.order_by("created_at", "id")
        .only(*CSV_FIELDS)
        .prefetch_related(
            Prefetch("series", queryset=Series.objects.only("slug").order_by("slug")),
            Prefetch("tags", queryset=Tag.objects.only("slug").order_by("slug")),
        )
    )
    # Two queries for the choices of each chunk, none for each row.
    for subscriber in subscribers.iterator(chunk_size=2000):
        choices = {
            "series": " ".join(series.slug for series in subscriber.series.all()),
            "tags": " ".join(tag.slug for tag in subscriber.tags.all()),
        }
        writer.writerow(
            [
                _csv_cell(choices.get(column, getattr(subscriber, column, None)))
                for column in CSV_COLUMNS
            ]
        )
    return response


class SubscriberImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="An export from Substack, Ghost (members), Mailchimp (the subscribed, "
        "unsubscribed or cleaned file), Buttondown, or any CSV file with an email column, "
        f"in UTF-8, up to {IMPORT_MAX_MB} MB.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )
    dry_run = forms.BooleanField(
        label="Dry run",
        required=False,
        # Ticked at first, so an upload shows what it would do before it saves anything.
        initial=True,
        help_text="Check the file and show what importing it would do, without saving anything.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_MB * 1024 * 1024:
            raise forms.ValidationError(
                f"This file is {upload.size / (1024 * 1024):.1f} MB; the limit is "
                f"{IMPORT_MAX_MB} MB. Split it into smaller files and import each."
            )
        return upload


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "created_at", "confirmed_at", "consent_page"]
    list_filter = ["status", "created_at", "confirmed_at"]
    # Counts beside each status, so bounced and complained addresses are seen at a glance.
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["email", "consent_page"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "consent_at",
        "consent_page",
        "consent_wording",
        "confirmed_at",
        "unsubscribed_at",
    ]
    actions = ["export_csv"]
    change_list_template = "admin/newsletter/subscriber/change_list.html"

    def get_urls(self):
        export_all = self.admin_site.admin_view(self.export_all_csv)
        import_view = self.admin_site.admin_view(self.import_view)
        return [
            path("export.csv", export_all, name="newsletter_subscriber_export"),
            path("import/", import_view, name="newsletter_subscriber_import"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        counts = Subscriber.objects.aggregate(
            total=Count("id"),
            **{status: Count("id", filter=Q(status=status)) for status in Subscriber.Status.values},
        )
        extra_context = {
            **(extra_context or {}),
            "status_counts": [(label, counts[value]) for value, label in Subscriber.Status.choices],
            "total_count": counts["total"],
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description="Export selected subscribers as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return subscribers_csv(queryset)

    def export_all_csv(self, request):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        return subscribers_csv(Subscriber.objects.all())

    def import_view(self, request):
        """GET: the upload form. POST: the import (or its dry run) and its report."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        report, status = None, 200
        if request.method == "POST":
            form = SubscriberImportForm(request.POST, request.FILES)
            if form.is_valid():
                # The report is the answer, not a redirect: importing the same file again
                # changes nothing, so a reloaded page does no harm.
                report = importing.import_subscribers(
                    form.cleaned_data["file"], dry_run=form.cleaned_data["dry_run"]
                )
            status = 400 if not form.is_valid() or report.error else 200
        else:
            form = SubscriberImportForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import subscribers",
            "form": form,
            "report": report,
        }
        return TemplateResponse(
            request, "admin/newsletter/subscriber/import.html", context, status=status
        )


@admin.register(NewsletterIssue)
class NewsletterIssueAdmin(admin.ModelAdmin):
    list_display = ["subject", "created_at", "queued", "sent", "failed", "skipped", "finished_at"]
    list_filter = ["created_at", "finished_at"]
    search_fields = ["subject"]
    fields = ["post", "subject", "post_url", "created_by", "created_at", "finished_at", "progress"]
    readonly_fields = fields
    actions = ["resume_sending"]

    def get_queryset(self, request):
        status = Delivery.Status
        return (
            super()
            .get_queryset(request)
            .annotate(
                **{
                    value: Count("deliveries", filter=Q(deliveries__status=value))
                    for value in (status.QUEUED, status.SENT, status.FAILED, status.SKIPPED)
                }
            )
        )

    def has_add_permission(self, request):
        # Issues are made from a post: "Send to subscribers" on the post list.
        return False

    @admin.display(ordering="queued")
    def queued(self, issue):
        return issue.queued

    @admin.display(ordering="sent")
    def sent(self, issue):
        return issue.sent

    @admin.display(ordering="failed")
    def failed(self, issue):
        return issue.failed

    @admin.display(description="Skipped (unsubscribed)", ordering="skipped")
    def skipped(self, issue):
        return issue.skipped

    @admin.display(description="Progress")
    def progress(self, issue):
        return (
            f"{issue.queued} queued, {issue.sent} sent, {issue.failed} failed, "
            f"{issue.skipped} skipped"
        )

    @admin.action(description="Resume sending (after a stopped worker)", permissions=["change"])
    def resume_sending(self, request, queryset):
        unfinished = queryset.filter(finished_at__isnull=True)
        for issue in unfinished:
            tasks.send_issue.enqueue(issue.pk)
        self.message_user(
            request,
            f"Resumed sending {len(unfinished)} unfinished newsletter issue(s).",
            messages.SUCCESS,
        )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "issue", "status", "event", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "event", "issue"]
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ["subscriber__email"]
    list_select_related = ["subscriber", "issue"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The newsletter adds its sending to the post admin; the blog knows nothing of the newsletter.
admin.site.unregister(Post)
admin.site.register(Post, PostWithNewsletterAdmin)
