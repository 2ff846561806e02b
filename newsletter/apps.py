from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import page_cache
        from newsletter import checks  # noqa: F401  (registers the deploy checks)
        from newsletter.models import NewsletterIssue

        # The archive lists issues.
        page_cache.invalidate_when_saved(NewsletterIssue)
