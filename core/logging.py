"""Filters for the `django.request` log records, which carry the request they are about."""

import logging


class IncludeRequestMethod(logging.Filter):
    """Adds the method to Django's "Internal Server Error: /path" lines: a failing POST and a
    failing GET of one address are different bugs."""

    def filter(self, record):
        method = getattr(getattr(record, "request", None), "method", None)
        if method:
            record.msg = f"{record.getMessage()} ({method})"
            record.args = ()
        return True


class SkipAnsweredOutages(logging.Filter):
    """Drops Django's "Service Unavailable" record, and its traceback, for requests answered
    with the outage page: `core.outage` has already logged one line that names the cause."""

    def filter(self, record):
        request = getattr(record, "request", None)
        return not (
            getattr(record, "status_code", None) == 503
            and getattr(request, "answered_database_outage", False)
        )
