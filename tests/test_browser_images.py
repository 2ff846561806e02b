"""Images in the admin's post editor, in a real Chromium served by gunicorn: dropped on the body,
pasted into it, or picked in the "Add image" panel, uploaded, and their Markdown put in at the
cursor with the alt text selected for typing."""

import base64
import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from blog.models import Image, Post
from tests import image_files
from tests import test_browser_editor as editor_tests
from tests.chromium import needs_chromium, on_postgresql_only
from tests.web_server import Gunicorn

pytestmark = [needs_chromium, on_postgresql_only, pytest.mark.django_db(transaction=True)]

# The editor tests' browser, database, static files and signed-in authors; `server` is this
# module's own.
browser = editor_tests.browser
served_database_url = editor_tests.served_database_url
admin_static_root = editor_tests.admin_static_root
sign_in = editor_tests.sign_in
signed_in = editor_tests.signed_in
axe_violations = editor_tests.axe_violations
change_url = editor_tests.change_url
preview_frame = editor_tests.preview_frame
NOT_OURS = editor_tests.NOT_OURS

PLACEHOLDER = "Describe this image"
UPLOAD_PATH = "/admin/blog/image/upload/"
IMAGE_MARKDOWN = r"!\[{alt}\]\(/media/images/[^)\s]+\.png\)"

# Every text the status line's image note takes, in order, so a test can see the passing ones.
RECORD_IMAGE_NOTES = """() => {
  window.__imageNotes = [];
  const note = document.querySelector("[data-editor-image-note]");
  new MutationObserver(() => window.__imageNotes.push(note.textContent))
    .observe(note, { childList: true, characterData: true, subtree: true });
}"""
# A DataTransfer holding Files, as the browser builds one for a drop or a paste.
DATA_TRANSFER = """(files) => {
  const transfer = new DataTransfer();
  for (const [name, type, encoded] of files) {
    const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
  }
  return transfer;
}"""
PASTE = """(body, transfer) => body.dispatchEvent(
  new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }))"""
SELECTED_TEXT = "(body) => body.value.slice(body.selectionStart, body.selectionEnd)"


def png_bytes(color):
    """A PNG wide enough for the renderer to offer narrower variants of it."""
    return image_files.png(width=1200, height=600, color=color)


def as_files(*files):
    """[(name, type, bytes)] as the page's DATA_TRANSFER takes them."""
    return [[name, kind, base64.b64encode(data).decode()] for name, kind, data in files]


@pytest.fixture
def server(transactional_db, tmp_path, served_database_url, admin_static_root):
    """gunicorn for one test, keeping uploads in a media folder of the test's own."""
    (tmp_path / "server").mkdir()
    server = Gunicorn(
        tmp_path / "server",
        {
            "DATABASE_URL": served_database_url,
            "CACHE_DIR": str(tmp_path / "cache"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "DJANGO_STATIC_ROOT": str(admin_static_root),
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,
            # A gunicorn a test: one worker starts in half the time, and one browser needs no more.
            "WEB_CONCURRENCY": "1",
        },
    )
    server.url = f"http://127.0.0.1:{server.port}"
    yield server
    server.stop()


@pytest.fixture
def draft(make_post):
    return make_post(title="Queues", body="Before. After.", status=Post.Status.DRAFT)


def open_editor(author, post, cursor):
    """The post's editor, its body's cursor put at `cursor`."""
    page = author.open(change_url(post))
    expect(page.locator("[data-editor-count]")).not_to_be_empty()
    page.evaluate(RECORD_IMAGE_NOTES)
    body = page.get_by_label("Body:")
    body.evaluate("(body, at) => body.setSelectionRange(at, at)", cursor)
    return page, body


def drop(page, body, *files, at=None):
    """Drags `files` over the body and drops them, at the point `at` of the page or, by default,
    at its corner, outside the body's text."""
    transfer = page.evaluate_handle(DATA_TRANSFER, as_files(*files))
    point = {"clientX": at[0], "clientY": at[1]} if at else {}
    for event in ("dragenter", "dragover"):
        body.dispatch_event(event, {"dataTransfer": transfer, **point})
    cue = page.get_by_text("Drop to upload the image here")
    expect(cue).to_be_visible()
    body.dispatch_event("drop", {"dataTransfer": transfer, **point})
    expect(cue).to_be_hidden()


def image_notes(page):
    return page.evaluate("window.__imageNotes")


def test_image_dropped_on_the_body_goes_in_at_the_cursor_with_its_alt_text_selected(
    signed_in, make_post
):
    # The cursor on the empty line between two paragraphs: the image becomes one of its own.
    post = make_post(body="First words.\n\n\n\nLast words.", status=Post.Status.DRAFT)
    page, body = open_editor(signed_in, post, len("First words.\n\n"))
    drop(page, body, ("diagram.png", "image/png", png_bytes((20, 30, 110))))

    markdown = IMAGE_MARKDOWN.format(alt=PLACEHOLDER)
    expect(body).to_have_value(re.compile(rf"^First words\.\n\n{markdown}\n\nLast words\.$"))
    assert body.evaluate(SELECTED_TEXT) == PLACEHOLDER
    expect(body).to_be_focused()
    assert Image.objects.count() == 1
    assert "Uploading diagram.png…" in image_notes(page)
    # The preview shows it as readers will get it: the renderer chose the sizes.
    image = preview_frame(page).locator("figure img")
    expect(image).to_have_attribute("srcset", re.compile(r"\S+ \d+w"))
    assert signed_in.violations(page) == []


def test_image_dropped_below_the_text_goes_in_at_its_end(signed_in, draft):
    page, body = open_editor(signed_in, draft, 0)
    box = body.bounding_box()
    below_the_text = (box["x"] + 20, box["y"] + 120)  # the body's one line is 1.5rem high
    drop(page, body, ("diagram.png", "image/png", png_bytes((20, 30, 110))), at=below_the_text)

    markdown = IMAGE_MARKDOWN.format(alt=PLACEHOLDER)
    expect(body).to_have_value(re.compile(rf"^Before\. After\.{markdown}$"))
    assert body.evaluate(SELECTED_TEXT) == PLACEHOLDER


def test_images_dropped_together_go_in_one_after_another(signed_in, draft):
    page, body = open_editor(signed_in, draft, len("Before. "))
    drop(
        page,
        body,
        ("first.png", "image/png", png_bytes((20, 30, 110))),
        ("second.png", "image/png", png_bytes((110, 110, 20))),
    )

    markdown = IMAGE_MARKDOWN.format(alt=PLACEHOLDER)
    expect(body).to_have_value(re.compile(rf"^Before\. {markdown}\n\n{markdown}After\.$"))
    expect(page.get_by_role("status")).to_contain_text("Added 2 images.")
    assert body.evaluate(SELECTED_TEXT) == PLACEHOLDER
    assert body.evaluate("(body) => body.selectionStart") == len("Before. ![")
    assert sorted(Image.objects.values_list("original_name", flat=True)) == [
        "first.png",
        "second.png",
    ]
    notes = image_notes(page)
    assert notes.index("Uploading first.png…") < notes.index("Uploading second.png…")


def test_image_picked_in_the_panel_with_alt_text_goes_in_with_that_alt_text(signed_in, draft):
    page, body = open_editor(signed_in, draft, len("Before. "))
    toggle = page.get_by_role("button", name="Add image")
    toggle.focus()
    toggle.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    picker = page.get_by_label("Image file")
    expect(picker).to_be_focused()
    picker.set_input_files(
        {"name": "queues.png", "mimeType": "image/png", "buffer": png_bytes((20, 110, 110))}
    )
    page.get_by_label("Alt text", exact=True).fill("Two queues feeding one worker")
    page.get_by_role("button", name="Upload").press("Enter")

    markdown = IMAGE_MARKDOWN.format(alt="Two queues feeding one worker")
    expect(body).to_have_value(re.compile(rf"^Before\. {markdown}After\.$"))
    expect(page.get_by_label("Image file")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(body).to_be_focused()
    assert Image.objects.get().alt_text == "Two queues feeding one worker"
    assert signed_in.violations(page) == []


def test_escape_closes_the_image_panel_and_returns_to_its_button(signed_in, draft):
    page, body = open_editor(signed_in, draft, 0)
    toggle = page.get_by_role("button", name="Add image")
    toggle.click()
    page.get_by_label("Alt text", exact=True).press("Escape")
    expect(page.get_by_label("Alt text", exact=True)).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(body).to_have_value("Before. After.")


def test_text_file_named_png_shows_the_servers_error_and_inserts_nothing(signed_in, draft):
    page, body = open_editor(signed_in, draft, len("Before. "))
    with page.expect_response(lambda response: response.url.endswith(UPLOAD_PATH)) as answer:
        drop(page, body, ("notes.png", "image/png", b"Not a picture, just words.\n"))

    assert answer.value.status == 400
    error = answer.value.json()["error"]
    assert error
    expect(page.get_by_role("status")).to_contain_text(f"notes.png was not added: {error}")
    expect(body).to_have_value("Before. After.")
    assert Image.objects.count() == 0


def test_file_of_another_type_is_refused_without_uploading(signed_in, draft):
    page, body = open_editor(signed_in, draft, 0)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    drop(page, body, ("notes.txt", "text/plain", b"Just words.\n"))

    expect(page.get_by_role("status")).to_contain_text(
        "notes.txt was not added: only JPEG, PNG, WebP and GIF images can be."
    )
    expect(body).to_have_value("Before. After.")
    assert [url for url in requests if url.endswith(UPLOAD_PATH)] == []


def test_image_pasted_into_the_body_goes_in_at_the_cursor(signed_in, draft):
    page, body = open_editor(signed_in, draft, len("Before. "))
    transfer = page.evaluate_handle(
        DATA_TRANSFER, as_files(("image.png", "image/png", png_bytes((110, 20, 30))))
    )
    body.evaluate(PASTE, transfer)

    markdown = IMAGE_MARKDOWN.format(alt=PLACEHOLDER)
    expect(body).to_have_value(re.compile(rf"^Before\. {markdown}After\.$"))
    assert body.evaluate(SELECTED_TEXT) == PLACEHOLDER
    assert Image.objects.count() == 1


def test_image_controls_stay_hidden_without_javascript(sign_in, draft):
    page = sign_in(java_script_enabled=False).open(change_url(draft))
    expect(page.get_by_label("Body:")).to_have_value("Before. After.")
    expect(page.get_by_role("button", name="Add image")).to_be_hidden()
    expect(page.get_by_label("Image file")).to_be_hidden()


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_open_image_panel_has_no_serious_accessibility_violations(sign_in, draft, color_scheme):
    # axe tries styles inline as it checks contrast; the CSP is checked by the tests above.
    page = sign_in(color_scheme=color_scheme, bypass_csp=True).open(change_url(draft))
    page.get_by_role("button", name="Add image").click()
    page.get_by_label("Decorative (no alt text)").check()
    expect(page.get_by_label("Alt text", exact=True)).to_be_disabled()
    assert axe_violations(page, ".post-editor", exclude=NOT_OURS) == []


def test_open_image_panel_fits_a_320_px_screen(sign_in, draft):
    author = sign_in(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    page = author.open(change_url(draft))
    page.get_by_role("button", name="Add image").click()
    expect(page.get_by_label("Image file")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
