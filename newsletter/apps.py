from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import tracking as anymail_tracking

        from core import page_cache
        from newsletter import checks  # noqa: F401  (registers the deploy checks)
        from newsletter.models import NewsletterIssue
        from newsletter.tracking import record_tracking_event

        # The archive lists issues.
        page_cache.invalidate_when_saved(NewsletterIssue)

        # The provider's reports of bounces, complaints and unsubscribes, from its webhook.
        anymail_tracking.connect(record_tracking_event, dispatch_uid="newsletter.tracking")
