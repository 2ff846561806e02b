from django.urls import path

from core import media, views
from core.page_cache import public_page

app_name = "core"

urlpatterns = [
    path("robots.txt", public_page(views.RobotsView.as_view()), name="robots"),
    path("favicon.ico", public_page(views.favicon), name="favicon"),
    path("media/<path:name>", media.serve_media, name="media"),
]
