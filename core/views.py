from django.shortcuts import render
from django.views.generic import TemplateView


class RobotsView(TemplateView):
    template_name = "robots.txt"
    content_type = "text/plain; charset=utf-8"


def server_error(request):
    return render(request, "500.html", status=500)
