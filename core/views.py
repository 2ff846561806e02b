import sys
from functools import cache

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from core.outage import is_database_outage, outage_response


class RobotsView(TemplateView):
    template_name = "robots.txt"
    content_type = "text/plain; charset=utf-8"


@cache
def _favicon_bytes():
    # The source static folder ships with the code (the Docker image copies it), so the file is
    # found there whether or not `collectstatic` ran.
    with open(finders.find("icons/favicon.ico"), "rb") as icon:
        return icon.read()


@require_safe
def favicon(request):
    """/favicon.ico, which browsers and feed readers ask for whatever the page's <link rel="icon">
    says: the same icon as static/icons/favicon.ico."""
    return HttpResponse(_favicon_bytes(), content_type="image/vnd.microsoft.icon")


def server_error(request):
    # Views' database errors are answered by DatabaseOutageMiddleware; this catches the ones
    # raised outside views, by middleware such as sessions.
    error = sys.exc_info()[1]
    if error is not None and is_database_outage(error):
        return outage_response(request, error)
    return render(request, "500.html", status=500)
