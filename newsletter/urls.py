from django.urls import path, register_converter

from core.page_cache import public_page
from newsletter import tracking, views


class TokenConverter:
    regex = r"[0-9A-Za-z_\-:]{1,200}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(TokenConverter, "token")

app_name = "newsletter"
urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("check-your-inbox/", views.check_inbox, name="check_inbox"),
    path("archive/", public_page(views.ArchiveView.as_view(), ["page"]), name="archive"),
    path("manage/<token:token>/", views.manage, name="manage"),
    path("manage/<token:token>/data.json", views.manage_data, name="manage_data"),
    # From the email to a confirmed subscriber who asked for a series or tag: adds it.
    path("add/<token:token>/", views.add_topic, name="add_topic"),
    # The tracking webhook of the provider EMAIL_PROVIDER names: bounces, complaints, unsubscribes.
    path("webhooks/<slug:provider>/tracking/", tracking.webhook, name="tracking_webhook"),
    path("confirm/<token:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<token:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "unsubscribe/<token:token>/one-click/",
        views.unsubscribe_one_click,
        name="unsubscribe_one_click",
    ),
]
