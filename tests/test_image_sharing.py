"""Images wherever a post goes beyond its page: link previews, JSON-LD, feeds and email."""

import html
import io
import json
import re

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image as PillowImage

from blog.images import add_image
from newsletter import services
from tests import image_files
from tests.test_previews import get_page

SITE_URL = "https://blog.example.com"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE_URL
    settings.SITE_NAME = "Example Notes"


@pytest.fixture
def photo(author):
    image, _ = add_image(
        ContentFile(image_files.jpeg(width=2000, height=1000), name="chart.jpg"),
        user=author,
        alt_text="A chart of queue depth",
        caption="Queue depth over a day",
    )
    return image


def body_with(image, alt="Queue depth, rising"):
    return f"Before the chart.\n\n![{alt}]({image.url})\n\nAfter the chart.\n"


def test_post_without_image_previews_with_its_title_card(client, make_post):
    post = make_post(title="Lamport clocks")
    page = get_page(client, post.get_absolute_url())
    (image_url,) = page.meta("og:image")
    assert image_url.startswith(f"{SITE_URL}/posts/{post.slug}/card-")
    assert page.meta("og:image:width") == ["1200"]
    assert page.meta("og:image:height") == ["630"]
    assert page.meta("og:image:alt") == ["Lamport clocks"]
    assert page.meta("twitter:card") == ["summary_large_image"]
    assert page.meta("twitter:image") == [image_url]


def test_title_card_is_served_as_a_1200_by_630_png(client, make_post):
    post = make_post(title="Lamport clocks")
    (image_url,) = get_page(client, post.get_absolute_url()).meta("og:image")
    response = client.get(image_url.removeprefix(SITE_URL))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "immutable" in response["Cache-Control"]
    card = PillowImage.open(io.BytesIO(b"".join(response.streaming_content)))
    assert card.size == (1200, 630)


def test_changing_the_title_gives_a_new_card_and_the_old_address_leads_to_it(client, make_post):
    post = make_post(title="Lamport clocks")
    (old_url,) = get_page(client, post.get_absolute_url()).meta("og:image")
    post.title = "Vector clocks"
    post.save()
    (new_url,) = get_page(client, post.get_absolute_url()).meta("og:image")
    assert new_url != old_url
    response = client.get(old_url.removeprefix(SITE_URL))
    assert response.status_code == 301
    assert response["Location"] == new_url.removeprefix(SITE_URL)


def test_draft_has_no_card_for_the_public(client, make_post):
    post = make_post(status="draft", title="Not yet")
    card_path = post.share_image["url"].removeprefix(SITE_URL)
    assert client.get(card_path).status_code == 404


def test_post_with_an_image_previews_with_its_first_image(client, make_post, photo):
    post = make_post(body=body_with(photo))
    page = get_page(client, post.get_absolute_url())
    assert page.meta("og:image") == [f"{SITE_URL}{photo.email_url}"]
    assert page.meta("og:image:width") == ["1200"]
    assert page.meta("og:image:height") == ["600"]
    assert page.meta("og:image:alt") == ["A chart of queue depth"]
    assert photo.email_url.endswith(".jpg")


def test_json_ld_has_the_image_and_an_author_url(client, make_post, photo):
    post = make_post(body=body_with(photo))
    data = get_page(client, post.get_absolute_url()).json_ld()
    assert data["image"]["url"] == f"{SITE_URL}{photo.email_url}"
    assert (data["image"]["width"], data["image"]["height"]) == (1200, 600)
    assert (
        data["author"]["url"]
        == f"{SITE_URL}{reverse('blog:author_detail', args=[post.author.username])}"
    )


def test_json_ld_of_a_post_without_image_names_its_card(client, make_post):
    post = make_post()
    page = get_page(client, post.get_absolute_url())
    assert page.json_ld()["image"]["url"] == page.meta("og:image")[0]


def feed_image_urls(content):
    urls = re.findall(r'src="([^"]+)"', content)
    for srcset in re.findall(r'srcset="([^"]+)"', content):
        urls += [candidate.split()[0] for candidate in srcset.split(",")]
    return urls


@pytest.mark.parametrize("path", ["/feed/", "/rss/"])
def test_xml_feeds_carry_absolute_image_urls(client, make_post, photo, path):
    make_post(body=body_with(photo))
    content = client.get(path).content.decode()
    urls = feed_image_urls(html.unescape(content))
    assert len(urls) == 1 + len(photo.variants)
    assert all(url.startswith(f"{SITE_URL}/media/images/{photo.key}") for url in urls)


def test_json_feed_carries_absolute_image_urls(client, make_post, photo):
    make_post(body=body_with(photo))
    (item,) = json.loads(client.get("/feed.json").content)["items"]
    urls = feed_image_urls(item["content_html"])
    assert urls and all(url.startswith(f"{SITE_URL}/media/") for url in urls)


@pytest.fixture
def subscriber(make_subscriber):
    return make_subscriber("reader@example.com")


def test_email_shows_the_jpeg_copy_at_600_px_with_its_alt_text(
    make_post, photo, subscriber, run_tasks
):
    services.send_post(make_post(body=body_with(photo)))
    run_tasks()
    html, _ = mail.outbox[0].alternatives[0]
    (img,) = re.findall(r"<img [^>]*>", html)
    assert f'src="{SITE_URL}{photo.email_url}"' in img
    assert 'width="600" height="300"' in img
    assert 'alt="Queue depth, rising"' in img
    assert "srcset" not in img and ".webp" not in html
    assert "<figure" not in html
    assert "Queue depth over a day" in html


def test_email_text_part_links_the_image_absolutely(make_post, photo, subscriber, run_tasks):
    services.send_post(make_post(body=body_with(photo)))
    run_tasks()
    assert f"]({SITE_URL}{photo.url})" in mail.outbox[0].body
