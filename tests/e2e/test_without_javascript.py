"""Every public page with JavaScript off: it renders, its links lead on, and its forms work."""

from playwright.sync_api import expect

from tests.chromium import needs_chromium
from tests.e2e.pages import PHONE, Watched, public_pages

pytestmark = needs_chromium


def test_every_public_page_renders_and_works_without_javascript(site, browser):
    reader = Watched(browser, site, java_script_enabled=False, viewport=PHONE, is_mobile=True)
    page = reader.page
    broken, checked = [], set()
    for name, path in public_pages(site).items():
        reader.goto(path)
        if not page.get_by_role("heading", level=1).first.is_visible():
            broken.append(f"{name} ({path}): no visible heading")
        # Every link of the page's own content leads to a page that answers.
        for href in page.locator("main a[href^='/']").evaluate_all(
            "(links) => [...new Set(links.map((a) => a.getAttribute('href')))]"
        ):
            if href.split("#")[0] in checked:
                continue
            checked.add(href.split("#")[0])
            status = site.server.get(href.split("#")[0]).status
            if status != 200:
                broken.append(f"{name} ({path}): link {href} answers {status}")
    assert broken == []

    # Pagination, a post link, a tag: followed by clicking, as a reader would.
    reader.goto("/")
    page.get_by_role("navigation", name="Pagination").locator("a[rel=next]").click()
    page.locator("main h2 a").first.click()
    expect(page.locator("article .post-body, article .prose").first).to_be_visible()
    page.get_by_role("list", name="Tags").first.get_by_role("link").first.click()
    expect(page.locator("main h2 a").first).to_be_visible()

    # The disclosures (series parts, contents) open without a script.
    reader.goto(site.image_post.get_absolute_url())
    for summary in page.locator("main details > summary").all():
        summary.click()
    expect(page.locator("main details:not([open])")).to_have_count(0)

    # The header's search form submits, and its results lead to the post.
    search = page.get_by_role("search").first.get_by_role("searchbox")
    search.fill("enqueue")
    search.press("Enter")
    page.get_by_role("link", name=site.image_post.title, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(site.image_post.title)

    # The subscribe box under the post posts its form.
    box = page.get_by_role("region", name="Subscribe to newsletter")
    box.get_by_label("Email address").fill("no.script@example.com")
    box.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert reader.take_problems() == []
    reader.close()
