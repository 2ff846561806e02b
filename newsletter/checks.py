from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_email_delivery(app_configs, **kwargs):
    """The development defaults print email and link to loopback: fine locally, not deployed."""
    warnings = []
    if settings.EMAIL_BACKEND.endswith(".console.EmailBackend"):
        warnings.append(
            Warning(
                "Email goes to the console backend: confirmation and newsletter emails are "
                "printed, not sent.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
                "EMAIL_USE_TLS).",
                id="newsletter.W001",
            )
        )
    site = urlsplit(settings.SITE_URL)
    if site.hostname in {"127.0.0.1", "localhost", "::1"} or (
        settings.HTTPS_ONLY and site.scheme != "https"
    ):
        warnings.append(
            Warning(
                f"SITE_URL is {settings.SITE_URL!r}: links in emails would not reach readers.",
                hint="Set SITE_URL to the public address, e.g. https://blog.example.com.",
                id="newsletter.W002",
            )
        )
    return warnings
