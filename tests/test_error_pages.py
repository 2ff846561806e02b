import pytest
from django.test import Client
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("deliberate failure for the 500 page")


urlpatterns = [path("boom/", boom), *site_urlpatterns]
handler500 = "core.views.server_error"


def test_404_page_looks_like_the_site(client, db):
    response = client.get("/no/such/page/")
    content = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in content
    assert 'class="site-header"' in content
    assert "Skip to content" in content


@pytest.mark.urls("tests.test_error_pages")
def test_500_page_looks_like_the_site(db):
    response = Client(raise_request_exception=False).get("/boom/")
    content = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in content
    assert 'class="site-header"' in content
