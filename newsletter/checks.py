import warnings
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from newsletter.tracking import open_tracking_view, tracking_view_class


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


@register(Tags.compatibility)
def check_email_provider(app_configs, **kwargs):
    """A misspelt EMAIL_PROVIDER would otherwise fail only at the first send."""
    if not settings.EMAIL_PROVIDER:
        return []
    try:
        import_string(f"anymail.backends.{settings.EMAIL_PROVIDER}.EmailBackend")
    except ImportError as error:
        return [
            Error(
                f"EMAIL_PROVIDER is {settings.EMAIL_PROVIDER!r}, which names no anymail backend "
                f"that can be loaded ({error}).",
                hint="Use the name of a module in anymail.backends (amazon_ses, brevo, mailgun, "
                "postmark, sendgrid...), and install its extras: "
                "pip install 'django-anymail[<provider>]'.",
                id="newsletter.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_tracking_webhook(app_configs, **kwargs):
    """Without its webhook, bounces and complaints at the provider never reach the list; without
    its secret, the site refuses the webhook rather than let anyone mark subscribers bounced."""
    provider = settings.EMAIL_PROVIDER
    if not provider:
        return []
    if tracking_view_class(provider) is None:
        return [
            Warning(
                f"anymail has no tracking webhook for EMAIL_PROVIDER {provider!r}: bounces and "
                "complaints will not stop the sending.",
                hint="Send through a provider anymail receives webhooks from (amazon_ses, "
                "brevo, mailgun, postmark, sendgrid...).",
                id="newsletter.W004",
            )
        ]
    with warnings.catch_warnings():
        # anymail's own warning says the same as ours, less precisely.
        warnings.simplefilter("ignore")
        view, problem = open_tracking_view(provider)
    if view is not None:
        return []
    return [
        Warning(
            f"The {provider} tracking webhook is refused until it can prove a post came from "
            f"{provider}: bounces, complaints and unsubscribes there will not stop the sending. "
            f"({problem.strip().rstrip('.')}.)",
            hint="Set ANYMAIL_WEBHOOK_SECRET (user:password, also given to the provider in the "
            "webhook URL), or ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY for Mailgun: see the README "
            "on webhooks.",
            id="newsletter.W003",
        )
    ]
