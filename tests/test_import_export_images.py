"""The images posts show go out with their Markdown files and come back with them: by command
(a folder or a zip) and through the admin's export action and import page."""

import io
import json
import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from blog import image_storage
from blog.images import add_image
from blog.markdown_files import export_zip, exported_posts
from blog.models import Image, Post
from tests import image_files
from tests.test_import_export import run

MEGABYTE = 1024 * 1024
SUMMARY = "1 created, 0 updated, 0 unchanged, 0 skipped, 0 failed"


@pytest.fixture
def photo(author):
    image, _ = add_image(
        ContentFile(image_files.jpeg(width=1200, height=600), name="queue-depth.jpg"),
        user=author,
        alt_text="A chart of queue depth",
        caption="Queue depth over a day",
        credit="Ada Lovelace",
    )
    return image


@pytest.fixture
def diagram(author):
    image, _ = add_image(
        ContentFile(image_files.rgba_png(width=300, height=200), name="diagram.png"),
        user=author,
        decorative=True,
    )
    return image


@pytest.fixture
def post(make_post, photo):
    return make_post(
        slug="queues", body=f"Before the chart.\n\n![]({photo.url})\n\nAfter the chart.\n"
    )


def exported_name(image):
    return f"images/{image.key}.jpg" if image.format == "JPEG" else f"images/{image.key}.png"


def original_bytes(image):
    with image.file.open("rb") as file:
        return file.read()


def empty_the_site():
    """No posts, no images, no image files: the site an export is brought into."""
    Post.objects.all().delete()
    for image in Image.objects.all():
        image_storage.delete_files(image.stored_names())
        image.delete()


def export_to_zip(tmp_path):
    path = tmp_path / "posts.zip"
    path.write_bytes(export_zip(exported_posts()))
    return path


# Export


def test_export_command_writes_each_image_once_beside_the_posts(
    tmp_path, make_post, post, photo, diagram
):
    make_post(slug="diagrams", body=f"![A diagram]({diagram.url})\n\n![]({photo.url})\n")
    folder = tmp_path / "export"

    lines, error = run("export_posts", folder)

    assert error is None
    assert lines == [
        str(folder / "diagrams.md"),
        str(folder / "queues.md"),
        *sorted([str(folder / exported_name(photo)), str(folder / exported_name(diagram))]),
        str(folder / "images.json"),
        f"Exported 2 post(s) and 2 image(s) to {folder}.",
    ]
    assert (folder / exported_name(photo)).read_bytes() == original_bytes(photo)
    assert (folder / exported_name(diagram)).read_bytes() == original_bytes(diagram)
    assert f"![]({photo.url})" in (folder / "queues.md").read_text()


def test_export_manifest_describes_each_image_by_key(tmp_path, post, photo):
    run("export_posts", tmp_path)
    manifest = json.loads((tmp_path / "images.json").read_text())
    assert manifest == {
        photo.key: {
            "file": exported_name(photo),
            "alt_text": "A chart of queue depth",
            "decorative": False,
            "caption": "Queue depth over a day",
            "credit": "Ada Lovelace",
            "original_name": "queue-depth.jpg",
        }
    }


def test_export_leaves_out_images_no_exported_post_shows(tmp_path, make_post, post, diagram):
    make_post(slug="other", body=f"![A diagram]({diagram.url})\n")
    lines, _ = run("export_posts", tmp_path, "--slug", "queues")
    assert lines[-1] == f"Exported 1 post(s) and 1 image(s) to {tmp_path}."
    assert list(json.loads((tmp_path / "images.json").read_text())) == [post.images.get().key]


def test_export_zip_holds_the_images_and_the_manifest(post, photo):
    archive = zipfile.ZipFile(io.BytesIO(export_zip(exported_posts())))
    assert archive.namelist() == ["queues.md", exported_name(photo), "images.json"]
    assert archive.read(exported_name(photo)) == original_bytes(photo)


def test_export_action_in_the_admin_includes_the_images(admin_client, post, photo):
    response = admin_client.post(
        reverse("admin:blog_post_changelist"),
        {"action": "export_as_markdown", "_selected_action": [post.pk]},
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["queues.md", exported_name(photo), "images.json"]


# Import


@pytest.mark.parametrize("form", ["folder", "zip"])
def test_import_into_an_empty_site_brings_back_the_image_and_its_figure(
    tmp_path, client, post, photo, form
):
    key, name = photo.key, exported_name(photo)
    run("export_posts", tmp_path / "export")
    export = tmp_path / "export" if form == "folder" else export_to_zip(tmp_path)
    empty_the_site()

    lines, error = run("import_posts", export)

    assert error is None
    assert lines == [
        f"{name}: added",
        "queues.md: created",
        f"{SUMMARY}; images: 1 added, 0 already there, 0 skipped, 0 failed.",
    ]
    image = Image.objects.get()
    assert (image.key, image.alt_text, image.caption, image.credit, image.decorative) == (
        key, "A chart of queue depth", "Queue depth over a day", "Ada Lovelace", False
    )  # fmt: skip
    assert image.original_name == "queue-depth.jpg"
    page = client.get(Post.objects.get().get_absolute_url()).content.decode()
    assert '<figure class="post-image">' in page
    assert f"/media/images/{key}-480w.webp 480w" in page
    assert 'alt="A chart of queue depth"' in page
    assert "<figcaption>Queue depth over a day" in page
    assert client.get(image.url).status_code == 200


def test_imported_post_knows_the_image_it_shows(tmp_path, post, photo):
    run("export_posts", tmp_path)
    empty_the_site()
    run("import_posts", tmp_path)
    imported = Post.objects.get()
    assert list(imported.images.all()) == [Image.objects.get()]
    assert imported.social_image["alt"] == "A chart of queue depth"


def test_dry_run_reports_the_images_and_stores_nothing(tmp_path, media_root, post, photo):
    run("export_posts", tmp_path / "export")
    empty_the_site()

    dry_lines, error = run("import_posts", tmp_path / "export", "--dry-run")

    assert error is None
    assert dry_lines == [
        f"{exported_name(photo)}: added",
        "queues.md: created",
        f"{SUMMARY}; images: 1 added, 0 already there, 0 skipped, 0 failed (dry run: nothing "
        "was saved).",
    ]
    assert not Image.objects.exists()
    assert not Post.objects.exists()
    assert not any(path.is_file() for path in (media_root / "images").rglob("*"))


def test_importing_the_export_again_changes_nothing(tmp_path, post, photo):
    run("export_posts", tmp_path)
    empty_the_site()
    run("import_posts", tmp_path)
    image = Image.objects.get()
    revisions = Post.history.count()

    lines, error = run("import_posts", tmp_path)

    assert error is None
    assert lines == [
        f"{exported_name(photo)}: already there",
        "queues.md: unchanged",
        "0 created, 0 updated, 1 unchanged, 0 skipped, 0 failed; "
        "images: 0 added, 1 already there, 0 skipped, 0 failed.",
    ]
    assert list(Image.objects.all()) == [image]
    assert Post.history.count() == revisions


def test_image_already_in_the_library_keeps_its_own_descriptions(tmp_path, post, photo):
    run("export_posts", tmp_path)
    Image.objects.filter(pk=photo.pk).update(alt_text="Described here", caption="")
    lines, _ = run("import_posts", tmp_path)
    assert lines[0] == f"{exported_name(photo)}: already there"
    photo.refresh_from_db()
    assert (photo.alt_text, photo.caption) == ("Described here", "")


def test_corrupted_image_is_reported_and_the_post_still_imports(tmp_path, post, photo):
    run("export_posts", tmp_path)
    (tmp_path / exported_name(photo)).write_bytes(image_files.truncated_jpeg())
    empty_the_site()

    lines, error = run("import_posts", tmp_path)

    assert lines[:2] == [
        f"{exported_name(photo)}: error: The image could not be read: the file is damaged or "
        "incomplete. Try saving or exporting it again.",
        "queues.md: created",
    ]
    assert str(error) == "1 of 2 could not be imported."
    assert not Image.objects.exists()
    assert f'src="{photo.url}"' in Post.objects.get().body_html


def test_image_missing_from_the_export_is_reported(tmp_path, post, photo):
    run("export_posts", tmp_path)
    (tmp_path / exported_name(photo)).unlink()
    empty_the_site()
    lines, _ = run("import_posts", tmp_path)
    assert lines[:2] == [
        f"{exported_name(photo)}: error: is not in the folder",
        "queues.md: created",
    ]


def test_manifest_that_is_not_json_is_reported_and_the_posts_still_import(tmp_path, post):
    run("export_posts", tmp_path)
    (tmp_path / "images.json").write_text("{not json")
    empty_the_site()
    lines, _ = run("import_posts", tmp_path)
    assert lines[:2] == [
        "images.json: error: is not valid JSON: Expecting property name enclosed in double "
        "quotes (line 1, column 2)",
        "queues.md: created",
    ]


@pytest.mark.parametrize(
    ("key", "fields", "message"),
    [
        ("not-a-key", {"file": "images/x.png"}, "“not-a-key” in images.json is not an image key"),
        ("a" * 32, {"file": "../../etc/passwd"}, "refused: its file “../../etc/passwd” is outside"),
        ("a" * 32, {"file": "images/x.png", "size": 3}, "unknown field “size” in images.json"),
        ("a" * 32, {"file": "images/x.png", "alt_text": "x" * 301}, "alt_text has 301 characters"),
        ("a" * 32, {"file": "images/x.png", "decorative": "yes"}, "decorative must be true or"),
    ],
)
def test_bad_manifest_entry_is_reported_by_its_file(tmp_path, author, key, fields, message):
    (tmp_path / "images.json").write_text(json.dumps({key: fields}))
    (tmp_path / "hello.md").write_text(
        "---\ntitle: Hello\nsummary: Hi.\nauthor: ada\n---\n\nHello.\n"
    )
    lines, _ = run("import_posts", tmp_path)
    assert lines[0].startswith(f"{fields['file']}: error: {message}")
    assert lines[1] == "hello.md: created"


def test_image_over_the_size_limit_is_refused_unread(tmp_path, post, photo):
    run("export_posts", tmp_path)
    with (tmp_path / exported_name(photo)).open("wb") as file:
        file.truncate(50 * MEGABYTE)  # sparse: nothing written to disk
    empty_the_site()
    lines, _ = run("import_posts", tmp_path)
    assert lines[:2] == [
        f"{exported_name(photo)}: error: the file is 50.0 MB; the limit is 20 MB",
        "queues.md: created",
    ]


def test_images_count_toward_what_a_zip_may_unpack_to(tmp_path, author):
    big, bigger = "a" * 32, "b" * 32
    manifest = {big: {"file": f"images/{big}.png"}, bigger: {"file": f"images/{bigger}.png"}}
    path = tmp_path / "posts.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("hello.md", "---\ntitle: Hello\nsummary: Hi.\nauthor: ada\n---\n\nHi.\n")
        archive.writestr("images.json", json.dumps(manifest))
        archive.writestr(f"images/{big}.png", bytes(12 * MEGABYTE))
        archive.writestr(f"images/{bigger}.png", bytes(9 * MEGABYTE))
    lines, error = run("import_posts", path)
    assert lines[0] == "posts.zip: error: unpacked, it is 21.0 MB; the limit is 20 MB"
    assert error is not None


def test_export_and_import_through_s3_storage(tmp_path, s3_storage, make_post, author):
    image, _ = add_image(
        ContentFile(image_files.jpeg(), name="wall.jpg"), user=author, alt_text="A red wall"
    )
    make_post(slug="wall", body=f"![]({image.url})\n")
    path = export_to_zip(tmp_path)
    empty_the_site()
    assert s3_storage.object_keys() == []

    lines, error = run("import_posts", path)

    assert error is None
    assert lines[0] == f"images/{image.key}.jpg: added"
    assert f"images/{image.key}.jpg" in s3_storage.object_keys()
    assert Image.objects.get().alt_text == "A red wall"


# The admin's import page


@pytest.fixture
def export_upload(post, photo):
    data = export_zip(exported_posts())
    empty_the_site()
    return lambda: SimpleUploadedFile("posts.zip", data)


def test_import_page_adds_the_images_of_an_exported_zip(admin_client, export_upload, photo):
    url = reverse("admin:blog_post_import")
    dry_run = admin_client.post(url, {"file": export_upload()})
    content = dry_run.content.decode()
    assert f"<td>{exported_name(photo)}</td><td>added</td>" in content
    assert "images: 1 added, 0 already there, 0 skipped, 0 failed." in content
    assert not Image.objects.exists()

    done = admin_client.post(url, {"token": dry_run.context["token"]})

    assert [str(result) for result in done.context["results"]] == [
        f"{exported_name(photo)}: added",
        "queues.md: created",
    ]
    image = Image.objects.get()
    assert (image.key, image.alt_text) == (photo.key, "A chart of queue depth")
    assert 'class="post-image"' in Post.objects.get().body_html


def test_import_page_skips_images_for_authors_who_may_not_add_them(
    client, django_user_model, export_upload, photo
):
    user = django_user_model.objects.create_user("writer", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_post", "change_post", "view_post"])
    )
    client.force_login(user)
    url = reverse("admin:blog_post_import")
    token = client.post(url, {"file": export_upload()}).context["token"]

    done = client.post(url, {"token": token})

    assert [str(result) for result in done.context["results"]] == [
        f"{exported_name(photo)}: skipped: you may not add images to the library",
        "queues.md: created",
    ]
    assert not Image.objects.exists()
