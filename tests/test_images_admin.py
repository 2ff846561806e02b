"""The image library in the admin and the editor's upload endpoint, as an author uses them:
uploading good and bad files, the same file twice, describing images, publishing posts that show
them, and deleting them."""

import html
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from blog import editing
from blog.images import add_image
from blog.models import Image, Post
from tests import image_files
from tests.post_forms import post_form_data
from tests.test_images import SMALL_PNG, WIDE_JPEG, image_markdown, stored_files, upload

ADD_URL = reverse("admin:blog_image_add")
UPLOAD_URL = reverse("admin:blog_image_upload")
CHANGELIST_URL = reverse("admin:blog_image_changelist")
PREVIEW_URL = reverse("admin:blog_post_preview")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PLACEHOLDER = "Describe this image"


@pytest.fixture
def librarian(author):
    """An author (the Authors group) who may also add, change and delete images."""
    author.groups.add(Group.objects.get(name="Authors"))
    author.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="blog", content_type__model="image")
    )
    return author


@pytest.fixture
def library_client(client, librarian):
    client.force_login(librarian)
    return client


@pytest.fixture
def clock():
    """A stopped clock, so the upload limit's minute never moves by itself."""
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def add(librarian):
    def add(data=WIDE_JPEG, name="photo.jpg", **descriptions):
        image, _ = add_image(upload(data, name), user=librarian, **descriptions)
        return image

    return add


def add_through_form(client, data=WIDE_JPEG, name="photo.jpg", *, follow=False, **fields):
    return client.post(ADD_URL, {"upload": upload(data, name), **fields}, follow=follow)


def upload_through_endpoint(client, data=WIDE_JPEG, name="photo.jpg", **fields):
    return client.post(UPLOAD_URL, {"file": upload(data, name), **fields})


def change_url(image):
    return reverse("admin:blog_image_change", args=[image.pk])


def delete_url(image):
    return reverse("admin:blog_image_delete", args=[image.pk])


def image_form_data(image, **changes):
    return {
        "alt_text": image.alt_text,
        "decorative": "on" if image.decorative else "",
        "caption": image.caption,
        "credit": image.credit,
        **changes,
    }


# Uploading in the library


def test_uploading_in_the_library_records_the_images_size_format_and_uploader(
    library_client, librarian, media_root
):
    response = add_through_form(library_client, alt_text="A red wall")
    assert response.status_code == 302
    image = Image.objects.get()
    assert (image.width, image.height, image.format) == (2000, 1000, "JPEG")
    assert image.file_size == (media_root / image.file.name).stat().st_size
    assert image.uploaded_by == librarian
    assert image.alt_text == "A red wall"
    assert image.original_name == "photo.jpg"


def test_uploading_in_the_library_stores_the_original_its_variants_and_email_copy(
    library_client, media_root
):
    add_through_form(library_client, alt_text="A red wall")
    key = Image.objects.get().key
    assert stored_files(media_root) == [
        f"images/{key}-1200w.jpg",
        f"images/{key}-1600w.webp",
        f"images/{key}-480w.webp",
        f"images/{key}-960w.webp",
        f"images/{key}.jpg",
    ]


def test_uploading_a_small_png_in_the_library_stores_it_and_one_webp(library_client, media_root):
    add_through_form(library_client, SMALL_PNG, name="diagram.png", alt_text="Boxes")
    key = Image.objects.get().key
    assert stored_files(media_root) == [f"images/{key}-300w.webp", f"images/{key}.png"]


def test_change_page_shows_the_markdown_to_copy_and_a_thumbnail(library_client, add):
    image = add(alt_text="A red wall")
    page = library_client.get(change_url(image)).content.decode()
    markdown = html.escape(f"![A red wall](/media/images/{image.key}.jpg)")
    assert f'aria-label="Markdown for this image">{markdown}</textarea>' in page
    assert f'<img src="/media/images/{image.key}-480w.webp" alt="" width="80" height="40"' in page


def test_library_lists_the_image_with_its_thumbnail_and_alt_text(library_client, add):
    image = add(alt_text="A red wall")
    page = library_client.get(CHANGELIST_URL).content.decode()
    assert f'src="/media/images/{image.key}-480w.webp"' in page
    assert "A red wall" in page


def test_library_search_finds_images_by_alt_text(library_client, add):
    add(alt_text="A red wall")
    add(SMALL_PNG, name="diagram.png", alt_text="Boxes and arrows")
    page = library_client.get(CHANGELIST_URL, {"q": "arrows"}).content.decode()
    assert "Boxes and arrows" in page
    assert "A red wall" not in page


# Bad files, in the library's form and in the editor's upload endpoint

BAD_FILES = [
    pytest.param(
        image_files.script_renamed_jpg(), "photo.jpg", "not an image the site accepts", id="script"
    ),
    pytest.param(image_files.html_page(), "page.html", "not an image the site accepts", id="html"),
    pytest.param(
        image_files.svg_with_script(), "logo.svg", "not an image the site accepts", id="svg"
    ),
    pytest.param(image_files.truncated_jpeg(), "cut.jpg", "damaged or incomplete", id="cut-jpeg"),
    pytest.param(image_files.truncated_png(), "cut.png", "damaged or incomplete", id="cut-png"),
    pytest.param(image_files.bomb_png(), "bomb.png", "The image is too large", id="bomb"),
    pytest.param(image_files.bmp(), "old.bmp", "not an image the site accepts", id="bmp"),
]
# Over 1 MB, yet a sound JPEG (with bytes after its end) but for its size.
OVER_ONE_MB = image_files.jpeg() + b"\0" * (1024 * 1024)


@pytest.mark.parametrize(("data", "name", "message"), BAD_FILES)
def test_library_form_refuses_a_bad_file_saying_why_and_stores_nothing(
    library_client, media_root, data, name, message
):
    response = add_through_form(library_client, data, name=name, alt_text="Anything")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.parametrize(("data", "name", "message"), BAD_FILES)
def test_upload_endpoint_refuses_a_bad_file_with_a_400_saying_why_and_stores_nothing(
    library_client, media_root, data, name, message
):
    response = upload_through_endpoint(library_client, data, name=name)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_library_form_refuses_a_file_over_the_upload_limit(library_client, media_root, settings):
    settings.MAX_IMAGE_UPLOAD_MB = 1
    response = add_through_form(library_client, OVER_ONE_MB, alt_text="Anything")
    assert response.status_code == 200
    assert "images can be at most 1 MB" in response.content.decode()
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_upload_endpoint_refuses_a_file_over_the_upload_limit(library_client, media_root, settings):
    settings.MAX_IMAGE_UPLOAD_MB = 1
    response = upload_through_endpoint(library_client, OVER_ONE_MB)
    assert response.status_code == 400
    assert "images can be at most 1 MB" in response.json()["error"]
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_the_same_file_under_the_limit_is_accepted(library_client, settings):
    settings.MAX_IMAGE_UPLOAD_MB = 2
    assert upload_through_endpoint(library_client, OVER_ONE_MB).status_code == 200


def test_library_form_refuses_an_empty_file(library_client, media_root):
    response = add_through_form(library_client, b"", alt_text="Anything")
    assert response.status_code == 200
    assert "file is empty" in response.content.decode()
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_upload_endpoint_refuses_an_empty_file(library_client, media_root):
    response = upload_through_endpoint(library_client, b"")
    assert response.status_code == 400
    assert "file is empty" in response.json()["error"]
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_upload_endpoint_without_a_file_is_400(library_client):
    response = library_client.post(UPLOAD_URL, {"alt_text": "Nothing"})
    assert response.status_code == 400
    assert response.json()["error"] == "Choose an image file to upload."


# The upload endpoint


def test_upload_endpoint_answers_with_the_url_and_markdown_with_the_alt_given(library_client):
    response = upload_through_endpoint(library_client, alt_text="A red wall")
    assert response.status_code == 200
    image = Image.objects.get()
    result = response.json()
    assert result["url"] == f"/media/images/{image.key}.jpg"
    assert result["markdown"] == f"![A red wall](/media/images/{image.key}.jpg)"
    assert result["created"] is True


def test_upload_endpoint_without_alt_text_puts_the_placeholder_in_the_markdown(library_client):
    result = upload_through_endpoint(library_client).json()
    key = Image.objects.get().key
    assert result["markdown"] == f"![{PLACEHOLDER}](/media/images/{key}.jpg)"
    assert Image.objects.get().alt_text == ""


def test_upload_endpoint_for_a_decorative_image_leaves_the_alt_empty(library_client):
    result = upload_through_endpoint(library_client, decorative="1").json()
    key = Image.objects.get().key
    assert result["markdown"] == f"![](/media/images/{key}.jpg)"
    assert Image.objects.get().decorative


def test_upload_endpoint_is_403_json_for_anonymous(client, db, media_root):
    response = upload_through_endpoint(client)
    assert response.status_code == 403
    assert "error" in response.json()
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_upload_endpoint_is_403_json_for_staff_who_may_not_add_images(staff_client, media_root):
    response = upload_through_endpoint(staff_client)
    assert response.status_code == 403
    assert response.json()["error"] == "You may not upload images."
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_an_author_of_the_authors_group_may_upload_images_in_the_editor(client, author):
    author.groups.add(Group.objects.get(name="Authors"))
    client.force_login(author)
    assert upload_through_endpoint(client).status_code == 200


def test_upload_endpoint_is_405_for_get(library_client):
    assert library_client.get(UPLOAD_URL).status_code == 405


def test_upload_endpoint_without_a_csrf_token_is_403_and_stores_nothing(librarian, media_root):
    client = Client(enforce_csrf_checks=True)
    client.force_login(librarian)
    assert upload_through_endpoint(client).status_code == 403
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_upload_endpoint_with_the_csrf_token_is_200(librarian):
    client = Client(enforce_csrf_checks=True)
    client.force_login(librarian)
    client.get(reverse("admin:blog_post_add"))  # sets the CSRF cookie, as the editor's page does
    token = client.cookies["csrftoken"].value
    response = client.post(UPLOAD_URL, {"file": upload()}, headers={"X-CSRFToken": token})
    assert response.status_code == 200


def test_upload_endpoint_is_429_after_the_limit_in_a_minute(library_client, monkeypatch, clock):
    monkeypatch.setattr(editing, "IMAGE_UPLOADS_PER_MINUTE", 3)
    statuses = [upload_through_endpoint(library_client).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "error" in upload_through_endpoint(library_client).json()


def test_upload_endpoint_takes_uploads_again_the_next_minute(library_client, monkeypatch, clock):
    monkeypatch.setattr(editing, "IMAGE_UPLOADS_PER_MINUTE", 3)
    for _ in range(3):
        upload_through_endpoint(library_client)
    assert upload_through_endpoint(library_client).status_code == 429
    clock.shift(timedelta(minutes=1))
    assert upload_through_endpoint(library_client).status_code == 200


# The same file twice


def test_the_same_file_uploaded_twice_is_one_image_and_one_set_of_files(library_client, media_root):
    first = upload_through_endpoint(library_client).json()
    files = stored_files(media_root)
    second = upload_through_endpoint(library_client).json()
    assert Image.objects.count() == 1
    assert stored_files(media_root) == files
    assert (first["created"], second["created"]) == (True, False)
    assert first["url"] == second["url"]


def test_the_same_file_again_in_the_library_form_says_it_was_there(library_client):
    add_through_form(library_client, alt_text="A red wall")
    response = add_through_form(library_client, alt_text="", follow=True)
    image = Image.objects.get()
    assert response.redirect_chain[-1][0] == change_url(image)
    page = response.content.decode()
    assert "The library already had this image; here it is. Nothing was added." in page
    assert "was added successfully" not in page


def test_an_upload_in_the_library_form_leads_to_its_markdown(library_client):
    response = add_through_form(library_client, alt_text="A red wall", follow=True)
    assert response.redirect_chain[-1][0] == change_url(Image.objects.get())
    assert "Uploaded. Copy its Markdown below into a post." in response.content.decode()


def test_uploading_again_with_alt_text_fills_an_empty_alt(library_client):
    upload_through_endpoint(library_client)
    result = upload_through_endpoint(library_client, alt_text="A red wall").json()
    assert Image.objects.get().alt_text == "A red wall"
    assert result["markdown"].startswith("![A red wall](")


def test_uploading_again_never_overwrites_an_alt_text(library_client):
    upload_through_endpoint(library_client, alt_text="A red wall")
    upload_through_endpoint(library_client, alt_text="Something else")
    add_through_form(library_client, alt_text="A third idea", caption="A caption")
    image = Image.objects.get()
    assert image.alt_text == "A red wall"
    assert image.caption == "A caption"


def test_uploading_again_with_empty_alt_keeps_the_existing_one(library_client):
    upload_through_endpoint(library_client, alt_text="A red wall")
    result = upload_through_endpoint(library_client).json()
    assert Image.objects.get().alt_text == "A red wall"
    assert result["markdown"].startswith("![A red wall](")


# Describing an image in the library changes the posts showing it


def test_changing_the_caption_in_the_library_shows_in_the_posts_using_it(
    library_client, add, make_post
):
    image = add(alt_text="A red wall")
    post = make_post(body=image_markdown(image))
    assert "<figcaption>" not in post.body_html
    response = library_client.post(
        change_url(image), image_form_data(image, caption="Latency by week")
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert "<figcaption>Latency by week</figcaption>" in post.body_html
    assert "<figcaption>Latency by week</figcaption>" in (
        Client().get(post.get_absolute_url()).content.decode()
    )


def test_changing_the_alt_text_in_the_library_shows_in_posts_that_give_none(
    library_client, add, make_post
):
    image = add(alt_text="A red wall")
    post = make_post(body=f"![](/media/images/{image.key}.jpg)")
    library_client.post(change_url(image), image_form_data(image, alt_text="A brick wall"))
    post.refresh_from_db()
    assert 'alt="A brick wall"' in post.body_html


# Publishing a post that shows an image


def press(client, post, action, **changes):
    url = reverse("admin:blog_post_change", args=[post.pk])
    return client.post(url, post_form_data(post, _action=action, **changes))


def test_draft_showing_an_image_without_alt_text_saves(library_client, add, make_post):
    image = add()
    draft = make_post(status=Post.Status.DRAFT, body="Words.")
    response = press(library_client, draft, "draft", body=f"![](/media/images/{image.key}.jpg)")
    assert response.status_code == 302
    draft.refresh_from_db()
    assert image.key in draft.body
    assert '<figure class="post-image">' in draft.body_html


def test_a_post_saved_in_the_admin_records_the_images_it_shows(library_client, add, make_post):
    image = add()
    draft = make_post(status=Post.Status.DRAFT, body="Words.")
    press(library_client, draft, "draft", body=f"![](/media/images/{image.key}.jpg)")
    assert list(draft.images.all()) == [image]


def test_an_image_shown_in_a_draft_written_in_the_admin_cannot_be_deleted(
    library_client, add, make_post, django_capture_on_commit_callbacks
):
    image = add()
    draft = make_post(status=Post.Status.DRAFT, title="Fencing tokens", body="Words.")
    press(library_client, draft, "draft", body=image_markdown(image))
    with django_capture_on_commit_callbacks(execute=True):
        library_client.post(delete_url(image), {"post": "yes"})
    assert Image.objects.filter(pk=image.pk).exists()


def test_an_image_shown_in_an_autosaved_draft_cannot_be_deleted(
    library_client, add, make_post, django_capture_on_commit_callbacks
):
    image = add()
    draft = make_post(status=Post.Status.DRAFT, title="Fencing tokens", body="Words.")
    autosave_url = reverse("admin:blog_post_autosave", args=[draft.pk])
    data = {"title": draft.title, "slug": draft.slug, "summary": draft.summary}
    response = library_client.post(autosave_url, {**data, "body": image_markdown(image)})
    assert response.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        library_client.post(delete_url(image), {"post": "yes"})
    assert Image.objects.filter(pk=image.pk).exists()


def test_a_post_published_in_the_admin_shares_its_first_image(
    library_client, add, make_post, settings
):
    image = add(alt_text="A red wall")
    draft = make_post(status=Post.Status.DRAFT, body="Words.")
    press(library_client, draft, "publish", body=image_markdown(image, alt=""))
    draft.refresh_from_db()
    assert draft.share_image["url"] == f"{settings.SITE_URL}/media/images/{image.key}-1200w.jpg"


def test_publishing_a_post_showing_an_image_without_alt_text_is_refused(
    library_client, add, make_post
):
    image = add()
    draft = make_post(status=Post.Status.DRAFT, body=f"![](/media/images/{image.key}.jpg)")
    response = press(library_client, draft, "publish")
    assert response.status_code == 200
    assert "Describe every image before publishing" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Post.Status.DRAFT


def test_placeholder_alt_text_counts_as_none(library_client, add, make_post):
    image = add()
    body = f"![{PLACEHOLDER}](/media/images/{image.key}.jpg)"
    draft = make_post(status=Post.Status.DRAFT, body=body)
    response = press(library_client, draft, "publish")
    assert response.status_code == 200
    assert "Describe every image before publishing" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Post.Status.DRAFT


def test_post_with_alt_text_in_its_markdown_publishes(library_client, add, make_post):
    image = add()
    draft = make_post(status=Post.Status.DRAFT, body=f"![A chart](/media/images/{image.key}.jpg)")
    assert press(library_client, draft, "publish").status_code == 302
    draft.refresh_from_db()
    assert draft.is_public


def test_post_whose_image_has_alt_text_in_the_library_publishes(library_client, add, make_post):
    image = add(alt_text="A red wall")
    draft = make_post(status=Post.Status.DRAFT, body=f"![](/media/images/{image.key}.jpg)")
    assert press(library_client, draft, "publish").status_code == 302
    draft.refresh_from_db()
    assert draft.is_public


def test_post_whose_image_is_decorative_publishes(library_client, add, make_post):
    image = add(decorative=True)
    draft = make_post(status=Post.Status.DRAFT, body=f"![](/media/images/{image.key}.jpg)")
    assert press(library_client, draft, "publish").status_code == 302
    draft.refresh_from_db()
    assert draft.is_public


def test_post_refused_for_a_missing_alt_publishes_once_the_library_describes_it(
    library_client, add, make_post
):
    image = add()
    draft = make_post(status=Post.Status.DRAFT, body=f"![](/media/images/{image.key}.jpg)")
    assert press(library_client, draft, "publish").status_code == 200
    library_client.post(change_url(image), image_form_data(image, alt_text="A red wall"))
    draft.refresh_from_db()
    assert press(library_client, draft, "publish").status_code == 302
    draft.refresh_from_db()
    assert draft.is_public


# Deleting


def test_delete_page_of_an_image_a_draft_shows_lists_the_post_and_refuses(
    library_client, add, make_post, media_root
):
    image = add(alt_text="A red wall")
    make_post(status=Post.Status.DRAFT, title="Fencing tokens", body=image_markdown(image))
    files = stored_files(media_root)
    page = library_client.get(delete_url(image)).content.decode()
    assert "Fencing tokens" in page
    assert "is still shown in these posts, so it stays in the library" in page
    assert "would require deleting" not in page
    response = library_client.post(delete_url(image), {"post": "yes"})
    assert response.status_code == 200
    assert "Fencing tokens" in response.content.decode()
    assert Image.objects.filter(pk=image.pk).exists()
    assert stored_files(media_root) == files


def test_delete_page_lists_every_post_showing_the_image(library_client, add, make_post):
    image = add(alt_text="A red wall")
    make_post(title="Leases, not locks", body=image_markdown(image))
    make_post(title="Fencing tokens", status=Post.Status.DRAFT, body=image_markdown(image))
    page = library_client.get(delete_url(image)).content.decode()
    assert "Leases, not locks" in page
    assert "Fencing tokens" in page


def test_deleting_an_unused_image_deletes_it_and_its_files(
    library_client, add, media_root, django_capture_on_commit_callbacks
):
    image = add(alt_text="A red wall")
    keep = add(SMALL_PNG, name="diagram.png", alt_text="Boxes")
    with django_capture_on_commit_callbacks(execute=True):
        response = library_client.post(delete_url(image), {"post": "yes"})
    assert response.status_code == 302
    assert list(Image.objects.all()) == [keep]
    assert stored_files(media_root) == sorted(keep.stored_names())


def test_an_image_taken_out_of_its_post_may_be_deleted(
    library_client, add, make_post, media_root, django_capture_on_commit_callbacks
):
    image = add(alt_text="A red wall")
    post = make_post(body=image_markdown(image))
    post.body = "No image any more."
    post.save()
    with django_capture_on_commit_callbacks(execute=True):
        library_client.post(delete_url(image), {"post": "yes"})
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


def test_bulk_delete_refuses_when_any_selected_image_is_used(
    library_client, add, make_post, media_root, django_capture_on_commit_callbacks
):
    used = add(alt_text="A red wall")
    unused = add(SMALL_PNG, name="diagram.png", alt_text="Boxes")
    make_post(status=Post.Status.DRAFT, title="Fencing tokens", body=image_markdown(used))
    files = stored_files(media_root)
    data = {"action": "delete_selected", "_selected_action": [used.pk, unused.pk], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        response = library_client.post(CHANGELIST_URL, data)
    assert response.status_code == 200
    assert "Fencing tokens" in response.content.decode()
    assert Image.objects.count() == 2
    assert stored_files(media_root) == files


def test_bulk_delete_of_unused_images_deletes_them_and_their_files(
    library_client, add, media_root, django_capture_on_commit_callbacks
):
    images = [add(alt_text="A red wall"), add(SMALL_PNG, name="diagram.png", alt_text="Boxes")]
    data = {"action": "delete_selected", "_selected_action": [i.pk for i in images], "post": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        response = library_client.post(CHANGELIST_URL, data)
    assert response.status_code == 302
    assert not Image.objects.exists()
    assert stored_files(media_root) == []


# The editor's live preview


def test_preview_shows_an_uploaded_image_as_a_figure(library_client, add):
    image = add(alt_text="A red wall", caption="Latency by week")
    result = library_client.post(PREVIEW_URL, {"body": image_markdown(image, alt="")}).json()
    assert (
        f'<figure class="post-image"><img src="/media/images/{image.key}-1200w.jpg"'
        in (result["html"])
    )
    assert 'alt="A red wall"' in result["html"]
    assert "<figcaption>Latency by week</figcaption>" in result["html"]
