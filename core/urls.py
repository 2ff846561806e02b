from django.urls import path

from core import views
from core.page_cache import public_page

app_name = "core"

urlpatterns = [
    path("robots.txt", public_page(views.RobotsView.as_view()), name="robots"),
]
