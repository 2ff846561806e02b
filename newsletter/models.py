from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.crypto import salted_hmac


class SubscriberQuerySet(models.QuerySet):
    def with_email(self, email):
        """Compares ignoring case, with the database's lower() on both sides, as the index does."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=Lower(Value(email)))

    def confirmed(self):
        return self.filter(status=Subscriber.Status.CONFIRMED)

    def recipients_of(self, post):
        """Confirmed subscribers who want `post`: everyone who takes every post, and those who
        chose its series or one of its tags. One row each, however many of their choices match."""
        wanted = Q(everything=True)
        if post.series_id is not None:
            wanted |= Q(series=post.series_id)
        tag_ids = list(post.tags.values_list("pk", flat=True))
        if tag_ids:
            wanted |= Q(tags__in=tag_ids)
        return self.confirmed().filter(pk__in=Subscriber.objects.filter(wanted).values("pk"))


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained (marked as spam)"

    # A subscriber in one of these is never sent to again, and only they can ask to come back.
    STOPPED = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)

    email = models.EmailField(max_length=254, help_text="Kept as typed; compared ignoring case.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True, help_text="First signup.")
    consent_at = models.DateTimeField(help_text="When they last asked to subscribe.")
    consent_page = models.CharField(
        max_length=200, blank=True, help_text="The page whose form they used."
    )
    consent_wording = models.TextField(help_text="The words of the box they agreed to.")
    consent_source = models.CharField(
        max_length=300,
        blank=True,
        help_text="Set when imported: where from, when, and when they opted in there.",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(
        null=True, blank=True, help_text="When they stopped getting email, for whatever reason."
    )
    everything = models.BooleanField(
        default=True, help_text="Every new post; otherwise only the chosen series and tags."
    )
    series = models.ManyToManyField("blog.Series", blank=True, related_name="subscribers")
    tags = models.ManyToManyField("blog.Tag", blank=True, related_name="subscribers")
    soft_bounces = models.PositiveSmallIntegerField(
        default=0, help_text="Temporary delivery failures in a row; three stop the sending."
    )

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

    def get_absolute_url(self):
        return reverse("admin:newsletter_subscriber_change", args=[self.pk])


def suppression_hashes(email):
    """Keyed hashes of an address, under the secret key and each fallback, so rotating the key
    never lets an erased address back in."""
    value = email.strip().lower()
    return [
        salted_hmac(SUPPRESSION_SALT, value, secret=secret, algorithm="sha256").hexdigest()
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]


SUPPRESSION_SALT = "newsletter.suppression"


class SuppressionQuerySet(models.QuerySet):
    def matching(self, email):
        return self.filter(address_hash__in=suppression_hashes(email))


class Suppression(models.Model):
    """An address that must never be added again, kept only as a keyed hash: what is left of a
    subscriber who erased themselves."""

    class Reason(models.TextChoices):
        ERASED = "erased", "Erased at their request"

    address_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=12, choices=Reason.choices, default=Reason.ERASED)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_reason_display()} on {self.created_at:%Y-%m-%d}"

    @classmethod
    def add(cls, email, reason=Reason.ERASED):
        cls.objects.get_or_create(
            address_hash=suppression_hashes(email)[0], defaults={"reason": reason}
        )


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
    recipient_count = models.PositiveIntegerField(
        default=0, help_text="Subscribers who wanted the post when it was sent."
    )
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

    class Event(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        SOFT_BOUNCE = "soft_bounce", "Soft bounce (temporary)"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained (marked as spam)"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed at the provider"

    issue = models.ForeignKey(NewsletterIssue, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(
        max_length=250, blank=True, help_text="The provider's id for the message, or ours for SMTP."
    )
    event = models.CharField(
        max_length=12,
        choices=Event.choices,
        blank=True,
        help_text="The last thing the provider reported.",
    )
    event_at = models.DateTimeField(null=True, blank=True)
    event_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "subscriber"], name="newsletter_delivery_once_per_issue"
            )
        ]
        indexes = [
            models.Index(fields=["issue", "status", "id"], name="delivery_progress_idx"),
            models.Index(
                fields=["message_id"], name="delivery_message_id_idx", condition=~Q(message_id="")
            ),
        ]

    def __str__(self):
        return f"{self.subscriber} · {self.get_status_display()}"
