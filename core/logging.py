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

