from django.urls import path, register_converter

from newsletter import views


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
    path("confirm/<token:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<token:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "unsubscribe/<token:token>/one-click/",
        views.unsubscribe_one_click,
        name="unsubscribe_one_click",
    ),
]
