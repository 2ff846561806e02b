from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from newsletter import checks  # noqa: F401  (registers the deploy checks)
