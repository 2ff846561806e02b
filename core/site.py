"""The site's public address, for links that leave the page: feeds, sitemaps, previews."""

from urllib.parse import urlsplit

from django.conf import settings


def absolute_url(path):
    return f"{settings.SITE_URL}{path}"


def site_scheme():
    return urlsplit(settings.SITE_URL).scheme


def site_domain():
    """Host and port, as a sitemap needs them."""
    return urlsplit(settings.SITE_URL).netloc


def site_hostname():
    """Host alone, as a tag: URI needs it."""
    return urlsplit(settings.SITE_URL).hostname
