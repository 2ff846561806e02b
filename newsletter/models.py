from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.urls import reverse


class SubscriberQuerySet(models.QuerySet):
    def with_email(self, email):
        """Compares ignoring case, with the database's lower() on both sides, as the index does."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email)))

    def confirmed(self):
        return self.filter(status=Subscriber.Status.CONFIRMED)


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(max_length=254, help_text="Kept as typed; compared ignoring case.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, help_text="First signup.")
    consent_at = models.DateTimeField(help_text="When they last asked to subscribe.")
    consent_page = models.CharField(
        max_length=200, blank=True, help_text="The page whose form they used."
    )
    consent_wording = models.TextField(help_text="The words of the box they agreed to.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="newsletter_subscriber_email_ci_unique",
                violation_error_message="This address is already on the list.",
            )
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="subscriber_status_idx")]

    def __str__(self):
        return self.email


class NewsletterIssue(models.Model):
    """One post sent to the subscribers confirmed at the moment the author pressed send."""

    post = models.ForeignKey(
        "blog.Post", null=True, on_delete=models.SET_NULL, related_name="newsletter_issues"
    )
    subject = models.CharField(max_length=300)
    post_url = models.URLField(max_length=500)
    html_body = models.TextField(help_text="Rendered once, when the issue is created.")
    text_body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker sending this issue holds the lease; a killed worker's lease runs out.
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.subject} ({self.created_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self):
        return reverse("admin:newsletter_newsletterissue_change", args=[self.pk])


class PlannedSend(models.Model):
    """An author's choice to email a post to subscribers when it goes out. A scheduled post's
    send waits in the task queue for its publish time (`run_after`); a draft's has no time yet."""

    post = models.OneToOneField("blog.Post", on_delete=models.CASCADE, related_name="planned_send")
    send_at = models.DateTimeField(
        null=True, blank=True, help_text="The post's publish time; empty while it is a draft."
    )
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    planned_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["send_at", "id"]

    def __str__(self):
        return f"Email “{self.post}” when it goes out"

    def get_absolute_url(self):
        return reverse("admin:blog_post_change", args=[self.post_id])


class Delivery(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (unsubscribed)"

    issue = models.ForeignKey(NewsletterIssue, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "subscriber"], name="newsletter_delivery_once_per_issue"
            )
        ]
        indexes = [models.Index(fields=["issue", "status", "id"], name="delivery_progress_idx")]

    def __str__(self):
        return f"{self.subscriber} · {self.get_status_display()}"
