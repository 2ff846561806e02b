"""Images in S3-compatible storage: moto's real S3 API on loopback, not a mock of our code."""

import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags
from PIL import Image as PillowImage

from blog.images import add_image, delete_image
from blog.models import Image
from tests.image_files import jpeg

pytest_plugins = ["tests.s3_server"]

# Wider than every variant and than the email copy: one file of each kind.
PHOTO = jpeg(width=1300, height=650)


def upload(data=PHOTO, name="holiday.jpg"):
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


@pytest.fixture
def photo(s3_storage, author):
    image, created = add_image(upload(), user=author, alt_text="A red wall")
    assert created
    return image


def test_an_upload_puts_its_original_and_every_variant_in_the_bucket(s3_storage, photo):
    variants = [variant["name"] for variant in photo.variants]
    assert len(variants) == 3
    expected = {photo.file.name, photo.email_copy["name"], *variants}
    assert s3_storage.object_keys() == sorted(expected) == photo.stored_names()


def test_files_in_the_bucket_have_no_exif_or_gps(s3_storage, photo):
    uploaded = PillowImage.open(io.BytesIO(PHOTO))
    assert uploaded.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    for key in s3_storage.object_keys():
        stored = PillowImage.open(io.BytesIO(s3_storage.read(key)))
        assert not stored.getexif(), key
        assert "exif" not in stored.info, key
        assert "xmp" not in stored.info, key


def test_media_serves_the_bucket_files_cached_for_a_year(client, s3_storage, photo):
    for name in photo.stored_names():
        response = client.get(f"/media/{name}")
        assert response.status_code == 200, name
        assert b"".join(response.streaming_content) == s3_storage.read(name)
        assert response["Content-Type"] in {"image/jpeg", "image/webp"}
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_the_images_own_url_serves_it_from_the_bucket(client, s3_storage, photo):
    response = client.get(photo.url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == s3_storage.read(photo.file.name)


def test_media_answers_404_for_a_name_the_bucket_lacks(client, s3_storage, photo):
    missing = photo.file.name.replace(photo.key, "0" * 32)
    assert client.get(f"/media/{missing}").status_code == 404


def test_the_same_file_uploaded_again_stores_nothing_new(s3_storage, photo, author):
    keys = s3_storage.object_keys()
    again, created = add_image(upload(name="copy.jpg"), user=author)
    assert not created
    assert again.pk == photo.pk
    assert Image.objects.count() == 1
    assert s3_storage.object_keys() == keys


def test_deleting_an_unused_image_empties_the_bucket_of_its_files(
    s3_storage, photo, django_capture_on_commit_callbacks
):
    assert s3_storage.object_keys()
    with django_capture_on_commit_callbacks(execute=True):
        delete_image(photo)
    assert s3_storage.object_keys() == []
    assert not Image.objects.exists()


def test_with_a_public_base_url_the_images_urls_point_into_the_bucket(s3_storage, photo, settings):
    base = f"{s3_storage.endpoint_url}/{s3_storage.name}/"
    settings.MEDIA_URL = base
    for url in (photo.url, photo.email_url):
        assert url.startswith(base)
        assert url.removeprefix(base) in s3_storage.object_keys()


def test_with_a_public_base_url_a_post_loads_its_image_from_the_bucket(
    client, s3_storage, photo, settings, make_post
):
    base = f"{s3_storage.endpoint_url}/{s3_storage.name}/"
    settings.MEDIA_URL = base
    post = make_post(body=f"Before.\n\n{photo.markdown()}\n")
    page = client.get(post.get_absolute_url()).content.decode()
    (img,) = re.findall(r"<img\s[^>]*\bsrcset=[^>]*>", page)
    src = html.unescape(re.search(r'\bsrc="([^"]*)"', img)[1])
    srcset = html.unescape(re.search(r'\bsrcset="([^"]*)"', img)[1])
    urls = [src] + [candidate.split()[0] for candidate in srcset.split(",")]
    assert len(urls) == 4
    for url in urls:
        assert url.startswith(base)
        assert url.removeprefix(base) in s3_storage.object_keys()
