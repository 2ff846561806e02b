import csv

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone

from blog.models import Post
from newsletter import tasks
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
]


def _csv_cell(value):
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula; an address may start with "=".
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def subscribers_csv(queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in queryset.order_by("created_at", "id").values_list(*CSV_COLUMNS).iterator():
        writer.writerow([_csv_cell(value) for value in row])
    return response


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "created_at", "confirmed_at", "consent_page"]
    list_filter = ["status", "created_at", "confirmed_at"]
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
        return [
            path("export.csv", export_all, name="newsletter_subscriber_export"),
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
    list_display = ["subscriber", "issue", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "issue"]
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
