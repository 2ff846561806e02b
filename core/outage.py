"""A friendly 503 while the database is unreachable, in place of a 500 and its traceback.

Cached pages keep being served (the page cache needs no database); every page that needs the
database answers the outage page until it is back. Nothing here reconnects: Django closes a
connection that raised at the end of the request, and the next request opens a new one.
"""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

from core.context_processors import site

logger = logging.getLogger(__name__)


# What drivers raise when the server cannot be reached or went away. Not IntegrityError,
# ProgrammingError or DataError: those are bugs or bad data, and stay 500s (or whatever the view
# makes of them).
DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)


def is_database_outage(exception):
    return isinstance(exception, DATABASE_OUTAGE_ERRORS)


def outage_response(request, exception, template_name="503.html", context=None):
    """The outage page, logged once, made without a query.

    The context is built here rather than by the context processors: the auth and messages
    ones would read the session, which lives in the database.
    """
    cause = " ".join(str(exception).split())
    logger.warning(
        "Database unavailable (%s: %s); answered 503 to %s %s",
        type(exception).__name__,
        cause,
        request.method,
        request.path,
    )
    # Read by core.logging.SkipAnsweredOutages: Django's own "Service Unavailable" record
    # would repeat this line with a traceback.
    request.answered_database_outage = True
    content = render_to_string(
        template_name, {**site(request), "request": request, **(context or {})}
    )
    response = HttpResponse(content, status=503)
    response["Retry-After"] = str(settings.OUTAGE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    """Answers the outage page for database errors raised by views and their templates.

    Errors raised by middleware (a session being saved) reach `core.views.server_error`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_outage(exception):
            return outage_response(request, exception)
        return None
