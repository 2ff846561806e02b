from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpResponse

from core.speculation import CSP_HASH

HEALTH_CHECK_PATHS = {"/healthz", "/healthz/"}

# No inline script runs but the fixed speculation rules, allowed by their hash; JSON-LD is a
# data block, which CSP does not govern. Images may come from any HTTPS host, as posts link them.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' {CSP_HASH}",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Browser features the site never uses, switched off for it and anything it might embed.
# browsing-topics is the ad-interest API; interest-cohort, its retired forerunner's name, only
# earns a console warning in current browsers.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in [
        "accelerometer",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    ]
)


class HealthCheckMiddleware:
    """`/healthz`: 200 when the database answers, else 503.

    First in the chain, so load balancers and container health checks reach it by IP over plain
    HTTP: no host check, no HTTPS redirect, no session and no page cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in HEALTH_CHECK_PATHS:
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except (DatabaseError, InterfaceError):
            response = HttpResponse("database unreachable\n", status=503)
            response["Retry-After"] = str(settings.OUTAGE_RETRY_AFTER)
            # A load balancer asks every few seconds; the pages' outage lines name the cause.
            request.answered_database_outage = True
        else:
            response = HttpResponse("ok\n")
        response["Content-Type"] = "text/plain; charset=utf-8"
        response["Cache-Control"] = "no-store"
        return response


class SecurityHeadersMiddleware:
    """The headers Django's SecurityMiddleware does not send: CSP and Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


class HeadWithoutBodyMiddleware:
    """HEAD gets what GET would get, its Content-Length included, but no body (RFC 9110).

    Django's views answer HEAD as GET; gunicorn then drops the body itself, warning each time.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "HEAD" and not response.streaming:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
