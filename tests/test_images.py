"""Uploaded images as readers get them: the files stored, served by /media/ without metadata,
shown in posts as responsive figures, counted in no extra query, and on link previews."""

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags
from PIL import Image as PillowImage

from blog import image_storage
from blog.images import add_image
from blog.models import Post
from tests import image_files
from tests.image_files import BLUE, RED

# Wider than every variant and than the email copy: a file of each kind.
WIDE_JPEG = image_files.jpeg(width=2000, height=1000)
SMALL_PNG = image_files.png(width=300, height=150)


def upload(data=WIDE_JPEG, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(media_root):
    """Every file under MEDIA_ROOT, as names relative to it."""
    if not media_root.exists():
        return []
    return sorted(
        path.relative_to(media_root).as_posix() for path in media_root.rglob("*") if path.is_file()
    )


def served_bytes(client, name):
    response = client.get(f"/media/{name}")
    assert response.status_code == 200, name
    return b"".join(response.streaming_content)


def opened(data):
    image = PillowImage.open(io.BytesIO(data))
    image.load()
    return image


def looks_like(pixel, color, tolerance=16):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=False))


@pytest.fixture
def add(author):
    """Add an image to the library as the author would; the image."""

    def add(data=WIDE_JPEG, name="photo.jpg", **descriptions):
        image, _ = add_image(upload(data, name), user=author, **descriptions)
        return image

    return add


def image_markdown(image, alt="A chart", title=None):
    title_part = f' "{title}"' if title is not None else ""
    return f"![{alt}](/media/images/{image.key}.{image.file.name.rsplit('.', 1)[1]}{title_part})"


# Files made from an upload


def test_a_2000_pixel_jpeg_is_stored_as_original_three_webp_widths_and_a_1200_pixel_jpeg(
    add, media_root
):
    image = add(WIDE_JPEG)
    key = image.key
    assert stored_files(media_root) == [
        f"images/{key}-1200w.jpg",
        f"images/{key}-1600w.webp",
        f"images/{key}-480w.webp",
        f"images/{key}-960w.webp",
        f"images/{key}.jpg",
    ]
    widths = {
        name: opened((media_root / name).read_bytes()).size for name in stored_files(media_root)
    }
    assert widths == {
        f"images/{key}-1200w.jpg": (1200, 600),
        f"images/{key}-1600w.webp": (1600, 800),
        f"images/{key}-480w.webp": (480, 240),
        f"images/{key}-960w.webp": (960, 480),
        f"images/{key}.jpg": (2000, 1000),
    }


def test_variants_are_webp_and_the_email_copy_is_jpeg(add, media_root):
    image = add(WIDE_JPEG)
    formats = {
        variant["name"]: opened((media_root / variant["name"]).read_bytes()).format
        for variant in image.variants
    }
    assert set(formats.values()) == {"WEBP"}
    assert opened((media_root / image.email_copy["name"]).read_bytes()).format == "JPEG"


def test_a_300_pixel_png_gets_one_300_pixel_webp_beside_its_original(add, media_root):
    image = add(SMALL_PNG, name="diagram.png")
    assert stored_files(media_root) == [f"images/{image.key}-300w.webp", f"images/{image.key}.png"]
    assert opened((media_root / f"images/{image.key}-300w.webp").read_bytes()).size == (300, 150)


# Metadata and pixels, read back through /media/ as a browser gets them


def test_served_original_of_a_sideways_phone_photo_is_upright_with_no_exif_or_gps(client, add):
    uploaded = image_files.red_left_blue_right_jpeg(exif_orientation=6)
    assert opened(uploaded).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    image = add(uploaded)
    served = opened(served_bytes(client, image.file.name))
    assert served.size == (20, 40)
    assert not served.getexif()
    assert "exif" not in served.info
    assert looks_like(served.convert("RGB").getpixel((10, 5)), RED)
    assert looks_like(served.convert("RGB").getpixel((10, 35)), BLUE)


def test_served_webp_variants_of_a_sideways_photo_are_upright_with_no_exif_or_gps(client, add):
    image = add(image_files.jpeg(width=2000, height=1000, exif_orientation=6))
    assert [(variant["width"], variant["height"]) for variant in image.variants] == [
        (480, 960),
        (960, 1920),
        (1000, 2000),
    ]
    for variant in image.variants:
        served = opened(served_bytes(client, variant["name"]))
        assert served.size == (variant["width"], variant["height"])
        assert served.height > served.width
        assert not served.getexif(), variant["name"]
        assert "exif" not in served.info and "xmp" not in served.info, variant["name"]


def test_served_email_copy_has_no_exif_or_gps(client, add):
    image = add(image_files.jpeg(width=3000, height=2000, exif_orientation=6))
    assert image.email_copy["name"] != image.file.name
    served = opened(served_bytes(client, image.email_copy["name"]))
    assert served.size == (1200, 1800)
    assert not served.getexif()


def test_cmyk_jpeg_is_served_rgb_and_red(client, add):
    image = add(image_files.cmyk_jpeg())
    served = opened(served_bytes(client, image.file.name))
    assert served.mode == "RGB"
    assert looks_like(served.getpixel((5, 5)), (237, 28, 36), tolerance=40)
    webp = opened(served_bytes(client, image.variants[0]["name"]))
    assert webp.mode == "RGB"
    assert looks_like(webp.getpixel((5, 5)), (237, 28, 36), tolerance=40)


def test_transparent_png_keeps_its_alpha_in_the_served_webp(client, add):
    image = add(image_files.rgba_png(), name="logo.png")
    webp = opened(served_bytes(client, image.variants[0]["name"]))
    assert webp.mode == "RGBA"
    assert webp.getpixel((5, 5))[3] == 255
    assert webp.getpixel((35, 5))[3] == 0


def test_animated_gif_is_served_with_all_its_frames(client, add):
    image = add(image_files.animated_gif(frames=3), name="spinner.gif")
    served = PillowImage.open(io.BytesIO(served_bytes(client, image.file.name)))
    assert served.format == "GIF"
    assert served.n_frames == 3
    assert image.animated


# Serving


def test_media_serves_an_image_for_a_year_with_its_type_and_nosniff(client, add):
    image = add(SMALL_PNG, name="diagram.png")
    response = client.get(f"/media/{image.file.name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [("jpg", "image/jpeg"), ("webp", "image/webp"), ("gif", "image/gif")],
)
def test_media_names_each_files_content_type(client, add, extension, content_type):
    image = add(image_files.still_gif() if extension == "gif" else WIDE_JPEG, name=f"a.{extension}")
    names = [name for name in image.stored_names() if name.endswith(f".{extension}")]
    assert names
    for name in names:
        assert client.get(f"/media/{name}")["Content-Type"] == content_type


def test_media_answers_head_with_the_headers_and_no_body(client, add):
    image = add(SMALL_PNG, name="diagram.png")
    response = client.head(f"/media/{image.file.name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_media_refuses_post_with_405(client, add):
    image = add(SMALL_PNG, name="diagram.png")
    assert client.post(f"/media/{image.file.name}").status_code == 405


@pytest.mark.parametrize(
    "name",
    [
        "imports/upload.json",
        "images/",
        "images",
        "../config/settings.py",
        "images/../images/{key}.png",
        "images/{key}.png/",
        "images/{key}.svg",
        "images/{key}.PNG",
        "images/0123456789abcdef0123456789abcdef.png",
    ],
)
def test_media_answers_404_for_anything_but_a_stored_image(client, add, media_root, name):
    image = add(SMALL_PNG, name="diagram.png")
    (media_root / "imports").mkdir()
    (media_root / "imports" / "upload.json").write_text("{}")
    response = client.get(f"/media/{name.format(key=image.key)}")
    assert response.status_code == 404


# Shown in posts


def test_image_alone_in_its_paragraph_is_a_responsive_figure(add, make_post):
    image = add(WIDE_JPEG)
    post = make_post(body=f"Before.\n\n{image_markdown(image)}\n\nAfter.")
    key = image.key
    srcset = (
        f"/media/images/{key}-480w.webp 480w, /media/images/{key}-960w.webp 960w, "
        f"/media/images/{key}-1600w.webp 1600w"
    )
    assert (
        f'<figure class="post-image"><img src="/media/images/{key}-1200w.jpg" '
        f'srcset="{srcset}" sizes="(min-width: 46rem) 42rem, calc(100vw - 2rem)" '
        f'width="2000" height="1000" alt="A chart" decoding="async"></figure>'
    ) in post.body_html


def test_figure_shows_the_images_caption_and_credit(add, make_post):
    image = add(WIDE_JPEG, caption="Latency by week", credit="Ada Lovelace")
    post = make_post(body=image_markdown(image))
    assert (
        '<figcaption>Latency by week — <span class="post-image__credit">Ada Lovelace</span>'
        "</figcaption></figure>"
    ) in post.body_html


def test_figure_without_a_caption_has_no_figcaption(add, make_post):
    post = make_post(body=image_markdown(add(WIDE_JPEG)))
    assert "<figure" in post.body_html
    assert "figcaption" not in post.body_html


def test_first_image_loads_at_once_and_later_ones_lazily(add, make_post):
    first, second = add(image_files.jpeg(color=RED)), add(image_files.jpeg(color=BLUE))
    post = make_post(body=f"{image_markdown(first)}\n\nWords.\n\n{image_markdown(second)}")
    imgs = re.findall(r"<img [^>]*>", post.body_html)
    assert len(imgs) == 2
    assert first.key in imgs[0] and 'loading="lazy"' not in imgs[0]
    assert second.key in imgs[1] and 'loading="lazy"' in imgs[1]


def test_image_inside_a_sentence_is_a_responsive_img_without_a_figure(add, make_post):
    image = add(WIDE_JPEG)
    post = make_post(body=f"See {image_markdown(image)} here.")
    assert "<figure" not in post.body_html
    assert re.search(
        rf'<p>See <img src="/media/images/{image.key}-1200w.jpg" srcset="[^"]+"', (post.body_html)
    )


def test_animated_gif_is_shown_as_itself_with_no_srcset(add, make_post):
    image = add(image_files.animated_gif(frames=3), name="spinner.gif")
    post = make_post(body=image_markdown(image))
    assert (
        f'<figure class="post-image"><img src="/media/images/{image.key}.gif" width="40" '
        'height="30" alt="A chart" decoding="async"></figure>'
    ) in post.body_html


def test_image_with_an_unknown_key_stays_a_plain_img(make_post):
    body = "![Gone](/media/images/0123456789abcdef0123456789abcdef.png)"
    post = make_post(body=body)
    assert (
        '<p><img alt="Gone" src="/media/images/0123456789abcdef0123456789abcdef.png"></p>'
        in post.body_html
    )
    assert "srcset" not in post.body_html and "<figure" not in post.body_html


def test_author_written_img_attributes_are_still_stripped(add, make_post):
    image = add(WIDE_JPEG, alt_text="A chart")
    body = (
        f'<img src="/media/images/{image.key}.jpg" srcset="https://evil.example/x.png 1w" '
        'sizes="1px" onerror="alert(1)" loading="eager">'
    )
    post = make_post(body=body)
    assert "evil" not in post.body_html
    assert "onerror" not in post.body_html
    assert 'sizes="1px"' not in post.body_html
    assert 'loading="eager"' not in post.body_html
    assert f'srcset="/media/images/{image.key}-480w.webp 480w' in post.body_html


def test_author_written_figure_stays_escaped_text(add, make_post):
    image = add(WIDE_JPEG, alt_text="A chart")
    body = (
        f'<figure class="post-image" onclick="alert(1)"><img src="/media/images/{image.key}.jpg">'
        "<figcaption><script>alert(1)</script></figcaption></figure>"
    )
    html = make_post(body=body).body_html
    assert re.findall(r"<(\w+)", html) == ["img"]  # the only element: the rest is text
    assert html.startswith('&lt;figure class="post-image" onclick="alert(1)"&gt;<img src=')


def test_markdown_title_with_quotes_and_html_is_escaped_in_the_figcaption(add, make_post):
    image = add(WIDE_JPEG)
    title = """'Peak "load" <b onmouseover="alert(1)">now</b> & later'"""
    html = make_post(body=f"![A chart](/media/images/{image.key}.jpg {title})").body_html
    [caption] = re.findall(r"<figcaption>(.*?)</figcaption>", html)
    assert caption == (
        "Peak &quot;load&quot; &lt;b onmouseover=&quot;alert(1)&quot;&gt;now&lt;/b&gt; &amp; later"
    )


def test_alt_text_with_quotes_and_html_is_escaped_in_the_img(add, make_post):
    image = add(WIDE_JPEG, alt_text='A "chart" <script>alert(1)</script>')
    html = make_post(body=f"![](/media/images/{image.key}.jpg)").body_html
    assert 'alt="A &quot;chart&quot; &lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert "<script" not in html


def test_image_uploaded_after_the_post_named_it_appears_in_the_post(author, make_post):
    key = image_storage.content_key(WIDE_JPEG)
    post = make_post(body=f"![A chart](/media/images/{key}.jpg)")
    assert "<figure" not in post.body_html
    add_image(upload(WIDE_JPEG), user=author)
    post.refresh_from_db()
    assert '<figure class="post-image">' in post.body_html
    assert list(post.images.values_list("key", flat=True)) == [key]


# The public post page


def count_post_page_queries(client, post):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    return len(queries)


def test_post_page_makes_as_many_queries_with_five_images_as_with_none(client, add, make_post):
    images = [add(image_files.jpeg(width=40 + i, height=20)) for i in range(5)]
    bodies = {
        0: "Just words.",
        1: image_markdown(images[0]),
        5: "\n\n".join(image_markdown(image) for image in images),
    }
    counts = {}
    for number, body in bodies.items():
        post = make_post(body=body)
        assert post.body_html.count("<figure") == number
        counts[number] = count_post_page_queries(client, post)
    assert counts[0] == counts[1] == counts[5]


def test_post_page_shows_the_figure(client, add, make_post):
    image = add(WIDE_JPEG, caption="Latency by week")
    post = make_post(body=image_markdown(image))
    page = client.get(post.get_absolute_url()).content.decode()
    assert f'<figure class="post-image"><img src="/media/images/{image.key}-1200w.jpg"' in page
    assert "<figcaption>Latency by week</figcaption>" in page


# Link previews


def card_url(post, key=None):
    key = key or image_storage.card_key(post.title)
    return reverse("blog:post_card", kwargs={"slug": post.slug, "key": key})


def test_title_card_of_a_public_post_is_a_1200_by_630_png_cached_for_a_year(client, make_post):
    post = make_post(title="Leases, not locks")
    response = client.get(card_url(post))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    card = opened(b"".join(response.streaming_content))
    assert (card.format, card.size) == ("PNG", (1200, 630))


def test_title_card_at_an_old_key_redirects_permanently_to_the_current_one(client, make_post):
    post = make_post(title="Leases, not locks")
    response = client.get(card_url(post, key="0" * 32))
    assert response.status_code == 301
    assert response["Location"] == card_url(post)


def test_title_card_of_a_draft_is_404(client, make_post):
    draft = make_post(title="Not yet", status=Post.Status.DRAFT)
    assert client.get(card_url(draft)).status_code == 404


def test_title_card_of_a_scheduled_post_is_404(client, make_post):
    scheduled = make_post(title="Soon", published_at=timezone.now() + timedelta(days=1))
    assert client.get(card_url(scheduled)).status_code == 404


def test_post_without_images_shares_its_title_card(make_post, settings):
    post = make_post(title="Leases, not locks")
    assert post.share_image == {
        "url": f"{settings.SITE_URL}{card_url(post)}",
        "width": 1200,
        "height": 630,
        "alt": "Leases, not locks",
    }


def test_post_shares_its_first_images_email_copy_at_an_absolute_url(add, make_post, settings):
    first = add(WIDE_JPEG, alt_text="A chart")
    second = add(SMALL_PNG, name="diagram.png", alt_text="A diagram")
    post = make_post(body=f"{image_markdown(first)}\n\n{image_markdown(second)}")
    assert post.share_image == {
        "name": f"images/{first.key}-1200w.jpg",
        "url": f"{settings.SITE_URL}/media/images/{first.key}-1200w.jpg",
        "width": 1200,
        "height": 600,
        "alt": "A chart",
    }


def test_post_page_offers_its_first_image_to_link_previews(client, add, make_post, settings):
    image = add(WIDE_JPEG, alt_text="A chart")
    post = make_post(body=image_markdown(image))
    page = client.get(post.get_absolute_url()).content.decode()
    url = f"{settings.SITE_URL}/media/images/{image.key}-1200w.jpg"
    assert f'<meta property="og:image" content="{url}">' in page
    assert '<meta property="og:image:width" content="1200">' in page
    assert '<meta property="og:image:height" content="600">' in page
    assert '<meta property="og:image:alt" content="A chart">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
