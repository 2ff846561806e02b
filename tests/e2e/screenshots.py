"""`make screenshots`: the pages a person should look at, at a phone's and a desktop's width, in
light and dark, written to var/screenshots/ (or $SCREENSHOTS_DIR) as <page>-<width>-<scheme>.png.

Not a test of the suite (its name keeps pytest from collecting it); run it by naming it:
`pytest tests/e2e/screenshots.py`. It serves the same site as the end-to-end tests.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.chromium import needs_chromium
from tests.e2e.pages import DESKTOP, PHONE, Watched, series_post_paths
from tests.web_server import PROJECT_DIR

pytestmark = needs_chromium

OUTPUT = Path(os.environ.get("SCREENSHOTS_DIR") or PROJECT_DIR / "var" / "screenshots")


def reader_shots(site, page):
    """(name, path, locator or None for the whole page) for what a reader sees."""
    return [
        ("listing", "/", None),
        ("post-code-image", site.image_post.get_absolute_url(), None),
        ("series-post", series_post_paths()[1], None),
        ("search-results", reverse("blog:search") + "?q=queue", None),
        (
            "subscribe-box",
            site.image_post.get_absolute_url(),
            page.get_by_role("region", name="Subscribe to newsletter"),
        ),
        ("manage", reverse("newsletter:manage", args=[site.manage_token]), None),
    ]


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_screenshots(site, browser, viewport, color_scheme):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    options = {"viewport": viewport, "color_scheme": color_scheme}
    if viewport is PHONE:
        options |= {"is_mobile": True, "has_touch": True, "device_scale_factor": 1}
    suffix = f"{viewport['width']}-{color_scheme}"
    reader = Watched(browser, site, **options)
    for name, path, part in reader_shots(site, reader.page):
        reader.goto(path)
        target = part or reader.page
        target.screenshot(
            path=OUTPUT / f"{name}-{suffix}.png", **({} if part else {"full_page": True})
        )
    reader.close()

    author = Watched(browser, site, signed_in=True, **options)
    page = author.page
    author.goto(reverse("admin:blog_post_change", args=[site.image_post.pk]))
    preview = page.frame_locator("[data-editor-frame]")
    expect(page.locator("[data-editor-count]")).not_to_be_empty()
    if page.get_by_role("tab", name="Preview").is_visible():  # a phone shows one at a time
        page.screenshot(path=OUTPUT / f"editor-write-{suffix}.png")
        page.get_by_role("tab", name="Preview").click()
    expect(preview.get_by_role("heading", name="The code")).to_be_visible()
    page.screenshot(path=OUTPUT / f"editor-preview-{suffix}.png")
    author.close()
