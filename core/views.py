import sys

from django.shortcuts import render
from django.views.generic import TemplateView

from core.outage import is_database_outage, outage_response


class RobotsView(TemplateView):
    template_name = "robots.txt"
    content_type = "text/plain; charset=utf-8"


def server_error(request):
    # Views' database errors are answered by DatabaseOutageMiddleware; this catches the ones
    # raised outside views, by middleware such as sessions.
    error = sys.exc_info()[1]
    if error is not None and is_database_outage(error):
        return outage_response(request, error)
    return render(request, "500.html", status=500)
