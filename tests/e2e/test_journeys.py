"""What a reader, a visitor who subscribes, and an author do, end to end in a real Chromium,
against gunicorn, with the email really sent and the task queue run by its worker."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from blog.models import Post, Series
from newsletter.models import NewsletterIssue, Subscriber
from tests import image_files
from tests.chromium import needs_chromium
from tests.e2e.conftest import AUTHOR_PASSWORD, AUTHOR_USERNAME, READER_EMAIL
from tests.e2e.pages import PHONE, Watched, series_post_paths

pytestmark = needs_chromium

NEWSLETTER_BOX = "Subscribe to newsletter"


def main_heading(page):
    return page.get_by_role("heading", level=1)


def test_reader_pages_opens_follows_a_series_copies_code_and_searches(site, browser):
    reader = Watched(browser, site, permissions=["clipboard-read", "clipboard-write"])
    page = reader.page
    reader.goto("/")
    first_page_titles = page.locator("main h2 a").all_inner_texts()
    page.get_by_role("navigation", name="Pagination").locator("a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    second_page_titles = page.locator("main h2 a").all_inner_texts()
    assert second_page_titles and not set(first_page_titles) & set(second_page_titles)

    # A post from the second page, then one of its tags.
    title = second_page_titles[0]
    page.get_by_role("link", name=title, exact=True).click()
    expect(main_heading(page)).to_have_text(title)
    tag_link = page.get_by_role("list", name="Tags").first.get_by_role("link").first
    tag_name = tag_link.inner_text()
    tag_link.click()
    expect(main_heading(page)).to_contain_text(tag_name)
    expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()

    # A series, part 1 to 3, by each part's link to the next.
    part_1, part_2, part_3 = series_post_paths()[:3]
    reader.goto(part_1)
    for part in (part_2, part_3):
        page.get_by_role("navigation", name="Series").locator("a[rel=next]").click()
        expect(page).to_have_url(site.url + part)
    expect(main_heading(page)).to_contain_text("Part 3")

    # The contents box leads to its sections.
    contents = page.locator("nav.post-toc")
    if contents.locator("summary").count():  # folded on narrow screens
        contents.locator("summary").first.click()
    entry = contents.get_by_role("link").nth(1)
    entry_name = entry.inner_text()
    entry.click()
    anchor = entry.get_attribute("href")
    expect(page).to_have_url(site.url + part_3 + anchor)
    expect(page.get_by_role("heading", name=entry_name)).to_be_in_viewport()

    # A code block copied with its button: the code alone, without the button's words.
    copy = page.locator(".prose").get_by_role("button", name="Copy code").first
    code = copy.locator("xpath=..").locator("pre code").first.evaluate("(code) => code.textContent")
    copy.click()
    expect(page.get_by_role("status")).to_have_text(re.compile("Copied"))
    assert page.evaluate("navigator.clipboard.readText()") == code.rstrip("\n")

    # A word from a post's body, searched from the header, leads to that post.
    post = Post.objects.get(slug=site.image_post.slug)
    page.get_by_role("search").first.get_by_role("searchbox").fill("enqueue")
    page.get_by_role("search").first.get_by_role("searchbox").press("Enter")
    expect(main_heading(page)).to_contain_text("Search")
    page.get_by_role("link", name=post.title, exact=True).click()
    expect(main_heading(page)).to_have_text(post.title)
    assert reader.take_problems() == []
    reader.close()


def test_visitor_subscribes_confirms_chooses_a_series_and_unsubscribes(site, browser):
    visitor = Watched(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)
    page = visitor.page
    address = "visitor@example.com"

    def subscribe_from_the_post():
        visitor.goto(site.image_post.get_absolute_url())
        box = page.get_by_role("region", name=NEWSLETTER_BOX)
        box.get_by_label("Email address").fill(address)
        box.get_by_role("button", name="Subscribe").click()
        expect(main_heading(page)).to_have_text("Check your inbox")
        return page.locator("main").inner_text()

    first_answer = subscribe_from_the_post()
    site.run_tasks()
    [confirm] = site.emails_to(address)
    visitor.goto(site.link_in(confirm, "confirm"))
    page.get_by_role("button", name="Confirm subscription").click()
    expect(main_heading(page)).to_have_text("You are subscribed")
    subscriber = Subscriber.objects.get(email=address)
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert subscriber.consent_page == site.image_post.get_absolute_url()

    site.run_tasks()
    welcome = site.emails_to(address)[-1]
    assert welcome is not confirm and "welcome" in welcome["Subject"].lower()
    visitor.goto(site.link_in(welcome, "manage"))
    expect(main_heading(page)).to_have_text("Your subscription")
    series = Series.objects.filter(posts__isnull=False).order_by("pk").first()
    page.get_by_label("Only what I choose").check()
    page.get_by_label(series.title, exact=True).check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_label(series.title, exact=True)).to_be_checked()
    subscriber.refresh_from_db()
    assert not subscriber.everything
    assert list(subscriber.series.all()) == [series]

    page.get_by_role("region", name="Stop the emails").get_by_role(
        "button", name="Unsubscribe"
    ).click()
    expect(page.get_by_text(re.compile("unsubscribed", re.IGNORECASE)).first).to_be_visible()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED

    # Subscribing again says exactly what it said the first time, whatever the address's state.
    assert subscribe_from_the_post() == first_answer
    assert visitor.take_problems() == []
    visitor.close()


MARKDOWN = """\
A lease expires; a lock waits for its holder.

## Renewing a lease

```python
def renew(lease, now):
    if lease.expires_at <= now:
        raise LeaseExpired(lease)
    lease.expires_at = now + lease.term
```

| Holder | Term | Renewals |
| --- | --- | ---: |
| worker-1 | 10 s | 12 |

"""


def local_input_time(moment):
    return f"{timezone.localtime(moment):%Y-%m-%dT%H:%M}"


def test_author_writes_previews_schedules_and_publishes_with_email(site, browser):
    author = Watched(browser, site)
    page = author.page
    author.goto(reverse("admin:login"))
    page.get_by_label("Username").fill(AUTHOR_USERNAME)
    page.get_by_label("Password").fill(AUTHOR_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site.url + reverse("admin:index"))

    author.goto(reverse("admin:blog_post_add"))
    page.get_by_label("Title:").fill("Leases, not locks")
    page.get_by_label("Summary:").fill("Why a lease beats a lock when a holder can vanish.")
    body = page.get_by_label("Body:")
    body.fill(MARKDOWN)
    body.press("Control+End")
    page.get_by_role("button", name="Add image").click()
    page.get_by_label("Image file").set_input_files(
        {"name": "lease.png", "mimeType": "image/png", "buffer": image_files.png(1200, 600)}
    )
    page.get_by_label("Alt text", exact=True).fill("A lease timeline with two renewals")
    page.get_by_role("button", name="Upload").click()
    expect(body).to_have_value(re.compile(r"!\[A lease timeline with two renewals\]\(/media/"))

    preview = page.frame_locator("[data-editor-frame]")
    expect(preview.get_by_role("heading", name="Renewing a lease")).to_be_visible()
    expect(preview.locator("pre").first).to_contain_text("def renew(lease, now):")
    expect(preview.get_by_role("cell", name="worker-1")).to_be_visible()
    expect(preview.get_by_role("img", name="A lease timeline with two renewals")).to_be_visible()

    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messagelist")).to_contain_text("Saved as a draft")
    post = Post.objects.get(title="Leases, not locks")
    assert post.status == Post.Status.DRAFT

    # Staff see the draft on the site under a banner; anyone else gets a 404.
    author.goto(post.get_absolute_url())
    expect(page.get_by_text("Draft: only staff can see this page")).to_be_visible()
    expect(page.get_by_role("img", name="A lease timeline with two renewals")).to_be_visible()
    anonymous = browser.new_context(base_url=site.url)
    assert anonymous.new_page().goto(post.get_absolute_url()).status == 404

    author.goto(reverse("admin:blog_post_change", args=[post.pk]))
    page.get_by_label("Publish time:").fill(local_input_time(timezone.now() + timedelta(days=1)))
    page.get_by_label("Email this post to subscribers when it goes out").check()
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messagelist")).to_contain_text("Scheduled")
    post.refresh_from_db()
    assert post.published_at > timezone.now()
    assert not Post.objects.published().filter(pk=post.pk).exists()

    page.get_by_role("button", name="Publish now").click()
    expect(page.locator(".messagelist")).to_contain_text("Published")
    assert Post.objects.published().filter(pk=post.pk).exists()
    site.run_tasks()
    issue = NewsletterIssue.objects.get(post=post)
    assert "Leases, not locks" in site.emails_to(READER_EMAIL)[-1]["Subject"]

    reader = anonymous.new_page()
    reader.goto("/")
    expect(reader.locator("main h2 a").first).to_have_text("Leases, not locks")
    feed = site.server.get(reverse("blog:feed"))
    assert feed.status == 200 and "<title>Leases, not locks</title>" in feed.text
    author.goto(reverse("admin:newsletter_newsletterissue_changelist"))
    headers = page.locator("#result_list thead th").all_inner_texts()
    row = page.locator("#result_list tbody tr").filter(has_text=issue.subject)
    sent = row.locator("td, th").nth([h.strip().lower() for h in headers].index("sent"))
    expect(sent).to_have_text(str(issue.deliveries.count()))
    anonymous.close()
    assert author.take_problems() == []
    author.close()
