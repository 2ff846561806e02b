from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("deliberate failure")


urlpatterns = [path("boom/", boom), *site_urlpatterns]
handler500 = "core.views.server_error"
