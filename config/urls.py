from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("newsletter/", include("newsletter.urls")),
    path("", include("core.urls")),
    path("", include("blog.urls")),
]

handler500 = "core.views.server_error"
