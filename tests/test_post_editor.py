"""The admin's post editor: its live preview, its autosave of drafts and its publishing buttons."""

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from blog import editing, revisions
from blog.models import BODY_MAX_LENGTH, Post
from blog.rendering import MarkdownTooDeep
from newsletter.models import Delivery, NewsletterIssue, PlannedSend
from tests.post_forms import form_time, post_form_data
from tests.test_rendering_xss import find_xss_problems

FORM_ENCODED = "application/x-www-form-urlencoded"

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PREVIEW_URL = reverse("admin:blog_post_preview")
NEW_AUTOSAVE_URL = reverse("admin:blog_post_autosave_new")


@pytest.fixture
def writer(author):
    """A staff user who may write posts, as the Authors group allows."""
    author.groups.add(Group.objects.get(name="Authors"))
    return author


@pytest.fixture
def writer_client(client, writer):
    client.force_login(writer)
    return client


@pytest.fixture
def reader_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password="pw-reader"))
    return client


@pytest.fixture
def clock():
    """A stopped clock, so rate-limit windows and publish times never move by themselves."""
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def preview(client, body, **extra):
    return client.post(PREVIEW_URL, {"body": body}, **extra)


def autosave(client, url=NEW_AUTOSAVE_URL, **fields):
    data = {"title": "Half written", "slug": "", "summary": "", "body": "First words.", **fields}
    return client.post(url, data)


def autosave_url(post):
    return reverse("admin:blog_post_autosave", args=[post.pk])


def change_url(post):
    return reverse("admin:blog_post_change", args=[post.pk])


def form_data(post=None, **overrides):
    """What the post form sends: the post's current values, or a new post's."""
    if post is not None:
        return post_form_data(post, **overrides)
    return {
        "title": "Written in the editor",
        "slug": "written-in-the-editor",
        "summary": "A post written in the editor.",
        "body": "## Hello\n\nFrom the **editor**.",
        "published_at": "",
        "series": "",
        "series_part": "",
        **overrides,
    }


def no_email_queued():
    return not (
        Delivery.objects.exists()
        or NewsletterIssue.objects.exists()
        or PlannedSend.objects.exists()
        or DBTaskResult.objects.filter(task_path__startswith="newsletter.").exists()
    )


def buttons_in(content):
    return re.findall(r'<button type="submit" name="_action" value="([a-z]+)"', content)


# --------------------------------------------------------------------------- #
# Preview
# --------------------------------------------------------------------------- #

XSS_BODIES = [
    "<script>alert(1)</script>",
    "Hello <script>alert(1)</script> world",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<IMG SRC=x ONERROR=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "![x](javascript:alert(1))",
    "[x][r]\n\n[r]: javascript:alert(1)",
    '<a href="https://example.com" onmouseover="alert(1)">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<svg onload=alert(1)>",
]


@pytest.mark.parametrize("body", XSS_BODIES)
def test_preview_gives_staff_sanitized_html(writer_client, body):
    response = preview(writer_client, body)
    assert response.status_code == 200
    assert find_xss_problems(response.json()["html"]) == []


def test_preview_escapes_a_script_as_text(writer_client):
    rendered = preview(writer_client, "Hi <script>alert(1)</script>").json()["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_preview_renders_code_tables_footnotes_and_contents(writer_client):
    body = (
        "## One\n\n```python\ndef answer():\n    return 42\n```\n\n"
        "## Two\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n"
        "## Three\n\nClaim.[^src]\n\n[^src]: The source.\n"
    )
    result = preview(writer_client, body).json()
    assert '<span class="k">def</span>' in result["html"]
    assert '<td class="align-right">2</td>' in result["html"]
    assert 'href="#fn:src"' in result["html"]
    assert 'href="#three"' in result["toc_html"]


def test_preview_counts_words_and_reading_minutes(writer_client):
    result = preview(writer_client, "word " * 461).json()
    assert result["words"] == 461
    assert result["reading_minutes"] == 3


def test_preview_is_403_json_for_anonymous(client):
    response = preview(client, "Hi")
    assert response.status_code == 403
    assert "error" in response.json()


def test_preview_is_403_for_a_logged_in_reader(reader_client):
    assert preview(reader_client, "Hi").status_code == 403


def test_preview_is_403_for_staff_who_may_not_write(staff_client):
    assert preview(staff_client, "Hi").status_code == 403


def test_preview_is_405_for_get(writer_client):
    assert writer_client.get(PREVIEW_URL).status_code == 405


def test_preview_without_a_csrf_token_is_403(writer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(writer)
    assert preview(client, "Hi").status_code == 403


def test_preview_with_the_csrf_token_is_200(writer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(writer)
    client.get(reverse("admin:blog_post_add"))  # sets the CSRF cookie, as the editor's page does
    token = client.cookies["csrftoken"].value
    assert preview(client, "Hi", headers={"X-CSRFToken": token}).status_code == 200


def test_autosave_without_a_csrf_token_is_403(writer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(writer)
    assert autosave(client).status_code == 403
    assert not Post.objects.exists()


def test_preview_of_a_body_over_the_limit_is_400_with_a_message(writer_client):
    response = preview(writer_client, "a" * (BODY_MAX_LENGTH + 1))
    assert response.status_code == 400
    assert "the limit is 250,000" in response.json()["error"]


def test_preview_of_a_body_at_the_limit_is_200(writer_client):
    assert preview(writer_client, "a" * BODY_MAX_LENGTH).status_code == 200


def test_preview_is_429_after_the_limit(writer_client, monkeypatch, clock):
    monkeypatch.setattr(editing, "PREVIEWS_PER_MINUTE", 3)
    statuses = [preview(writer_client, "Hi").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Too many previews" in preview(writer_client, "Hi").json()["error"]


def test_preview_is_allowed_again_in_the_next_minute(writer_client, monkeypatch, clock):
    monkeypatch.setattr(editing, "PREVIEWS_PER_MINUTE", 1)
    preview(writer_client, "Hi")
    assert preview(writer_client, "Hi").status_code == 429
    clock.shift(timedelta(minutes=1))
    assert preview(writer_client, "Hi").status_code == 200


def test_preview_saves_nothing(writer_client, make_post, django_assert_num_queries):
    post = make_post(status=Post.Status.DRAFT)
    preview(writer_client, "Warm up")  # the rate limit's first row of the minute
    history = Post.history.count()
    # Session, user, the user's permissions (two), the rate limit's count.
    with django_assert_num_queries(5):
        response = preview(writer_client, f"# Other words\n\nfor {post.slug}")
    assert response.status_code == 200
    assert Post.objects.count() == 1
    assert Post.history.count() == history
    post.refresh_from_db()
    assert "Other words" not in post.body_html


ODD_BODIES = [
    "",
    " ",
    "\x00",
    "a\x00b\x00c",
    "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x1f\x7f",
    "\x02wzxhzdk:0\x03",
    "\x02wzxhzdk:99\x03 and <b>html</b>",
    "klzzwxh:0000",
    "\r\n\r\r\n",
    "\u2028\u2029\ufeff\u200b\u200d",
    ">" * 10_000 + " deep",
    "> " * 5_000 + "quote",
    "[" * 5_000,
    "]" * 5_000 + "(" * 5_000,
    "![" * 3_000,
    "*" * 10_000,
    "_" * 500 + "x" + "_" * 500,
    "`" * 5_000,
    "```python\nunclosed fence",
    "~~~\nunclosed tilde\n```",
    "```" * 1_000,
    "| a |\n|---|\n" + "| x |\n" * 5_000,
    "|" * 5_000 + "\n" + "|-" * 2_500,
    "\n".join("| " + " | ".join(["c"] * 200) + " |" for _ in range(60)),
    "[^1]" * 2_000 + "\n\n[^1]: note",
    "#" * 7 + " not a heading\n" + "# " * 2_000,
    "<" * 5_000 + ">" * 5_000,
    "<!--" * 2_000,
    "&" * 2_000 + "&#" * 2_000 + "&#x" * 2_000,
    "ℌ𝔢𝔩𝔩𝔬 🙂 \u0301\u0301\u0301 日本語 עברית العربية " * 200,
    "    " * 2_000 + "indented",
    "- " * 300 + "nested",
    "1. " * 300 + "nested",
]
# Python-Markdown recurses once a level: thousands of levels are an error, never a 500.
TOO_DEEP_BODIES = [
    "_" * 5_000 + "x" + "_" * 5_000,
    "*" * 2_000 + "x" + "*" * 2_000,
    "- " * 3_000 + "nested",
    "1. " * 3_000 + "nested",
]


@pytest.mark.parametrize("body", ODD_BODIES, ids=range(len(ODD_BODIES)))
def test_preview_never_fails_on_odd_text(writer_client, body):
    response = preview(writer_client, body)
    assert response.status_code == 200
    assert find_xss_problems(response.json()["html"]) == []


@pytest.mark.parametrize("body", TOO_DEEP_BODIES, ids=range(len(TOO_DEEP_BODIES)))
def test_preview_of_markdown_nested_too_deep_is_400(writer_client, body):
    response = preview(writer_client, body)
    assert response.status_code == 400
    assert response.json()["error"] == str(MarkdownTooDeep())


# --------------------------------------------------------------------------- #
# Autosave
# --------------------------------------------------------------------------- #


def test_autosave_of_a_new_post_makes_a_hidden_draft(writer_client, writer, client):
    response = autosave(writer_client)
    assert response.status_code == 200
    post = Post.objects.get()
    assert post.status == Post.Status.DRAFT
    assert post.author == writer
    assert post.body == "First words."
    assert not Post.objects.published().exists()
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 404


def test_autosave_of_a_new_post_queues_no_email(writer_client, make_subscriber):
    make_subscriber("reader@example.com")
    autosave(writer_client)
    assert no_email_queued()


def test_autosave_of_a_new_post_answers_where_it_lives(writer_client):
    result = autosave(writer_client).json()
    post = Post.objects.get()
    assert result["post_id"] == post.pk
    assert result["change_url"] == change_url(post)
    assert result["autosave_url"] == autosave_url(post)
    assert result["slug"] == "half-written"
    assert result["saved_at"]


def test_second_autosave_updates_the_same_post(writer_client):
    first = autosave(writer_client).json()
    second = autosave(writer_client, first["autosave_url"], body="More words.", slug="half-written")
    assert second.status_code == 200
    assert second.json()["post_id"] == first["post_id"]
    assert Post.objects.get().body == "More words."


def test_autosave_of_a_new_post_with_a_taken_slug_gets_a_free_one(writer_client, make_post):
    make_post(slug="half-written")
    response = autosave(writer_client, slug="half-written")
    assert response.status_code == 200
    assert response.json()["slug"] == "half-written-2"


def test_autosave_of_a_new_post_with_no_slug_gets_a_free_one(writer_client, make_post):
    make_post(slug="half-written")
    assert autosave(writer_client).json()["slug"] == "half-written-2"


def test_autosave_of_a_draft_with_a_taken_slug_keeps_its_own(writer_client, make_post):
    make_post(slug="taken")
    draft = make_post(status=Post.Status.DRAFT, slug="mine")
    response = autosave(writer_client, autosave_url(draft), slug="taken", body="New words.")
    assert response.status_code == 200
    assert response.json()["slug"] == "mine"
    draft.refresh_from_db()
    assert (draft.slug, draft.body) == ("mine", "New words.")


def test_autosave_of_a_draft_with_an_empty_slug_keeps_its_own(writer_client, make_post):
    draft = make_post(status=Post.Status.DRAFT, slug="mine")
    assert autosave(writer_client, autosave_url(draft), slug="").status_code == 200
    draft.refresh_from_db()
    assert draft.slug == "mine"
    assert writer_client.get(change_url(draft)).status_code == 200


def test_autosave_of_a_title_with_nothing_to_slugify_gets_a_draft_slug(writer_client):
    assert autosave(writer_client, title="日本語").json()["slug"] == "draft"
    assert autosave(writer_client, title="日本語").json()["slug"] == "draft-2"


def test_autosave_without_a_title_is_400_with_a_message(writer_client):
    response = autosave(writer_client, title="")
    assert response.status_code == 400
    assert response.json()["error"] == "Not autosaved: Title: This field is required."
    assert not Post.objects.exists()


def test_autosave_of_a_live_post_is_409_and_changes_nothing(writer_client, make_post):
    post = make_post()
    history = post.history.count()
    response = autosave(writer_client, autosave_url(post), title="Changed", body="Changed.")
    assert response.status_code == 409
    post.refresh_from_db()
    assert (post.title, post.status) == ("Post number 1", Post.Status.PUBLISHED)
    assert post.history.count() == history


def test_autosave_of_a_scheduled_post_is_409(writer_client, make_post):
    post = make_post(published_at=timezone.now() + timedelta(days=1))
    assert autosave(writer_client, autosave_url(post), body="Changed.").status_code == 409
    post.refresh_from_db()
    assert post.body != "Changed."


def test_autosave_of_a_missing_post_is_404(writer_client):
    missing = reverse("admin:blog_post_autosave", args=[999])
    assert autosave(writer_client, missing).status_code == 404


def test_autosave_is_403_for_a_logged_in_reader(reader_client):
    assert autosave(reader_client).status_code == 403
    assert not Post.objects.exists()


def test_autosave_is_403_for_anonymous(client, make_post):
    draft = make_post(status=Post.Status.DRAFT)
    assert autosave(client, autosave_url(draft), body="Changed.").status_code == 403
    draft.refresh_from_db()
    assert draft.body != "Changed."


def test_autosave_is_405_for_get(writer_client):
    assert writer_client.get(NEW_AUTOSAVE_URL).status_code == 405


def test_autosave_is_429_after_the_limit(writer_client, make_post, monkeypatch, clock):
    monkeypatch.setattr(editing, "AUTOSAVES_PER_MINUTE", 2)
    draft = make_post(status=Post.Status.DRAFT)
    statuses = [
        autosave(writer_client, autosave_url(draft), body=f"Take {n}.").status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    draft.refresh_from_db()
    assert draft.body == "Take 1."


def test_ten_autosaves_keep_a_draft_a_draft_and_only_the_newest_autosaves(
    writer_client, admin_client, admin_user, clock
):
    add_post(admin_client, "draft", author=admin_user.pk)
    post = Post.objects.get()

    def autosaves(numbers):
        for number in numbers:
            clock.shift(timedelta(seconds=5))
            words = {"title": post.title, "summary": post.summary, "body": f"Take {number}."}
            response = autosave(writer_client, autosave_url(post), **words)
            assert response.status_code == 200

    autosaves(range(3))
    clock.shift(timedelta(seconds=5))
    response = change_post(admin_client, Post.objects.get(), "draft")
    assert response.status_code == 302, response.context["adminform"].form.errors
    autosaves(range(3, 10))

    post.refresh_from_db()
    assert (post.status, post.body) == (Post.Status.DRAFT, "Take 9.")
    reasons = list(revisions.revisions_of(post).values_list("history_change_reason", flat=True))
    assert reasons == [revisions.AUTOSAVE] * revisions.AUTOSAVES_KEPT + ["Saved draft"] * 2
    kept = revisions.revisions_of(post).filter(history_change_reason=revisions.AUTOSAVE)
    assert [revision.body for revision in kept] == [f"Take {n}." for n in range(9, 4, -1)]
    assert no_email_queued()


def test_autosave_of_a_body_with_a_nul_byte_is_400(writer_client):
    response = autosave(writer_client, body="Null \x00 here")
    assert response.status_code == 400
    assert "Body" in response.json()["error"]
    assert not Post.objects.exists()


def test_autosave_of_markdown_nested_too_deep_is_400(writer_client, make_post):
    draft = make_post(status=Post.Status.DRAFT)
    response = autosave(writer_client, autosave_url(draft), body=TOO_DEEP_BODIES[0])
    assert response.status_code == 400
    assert str(MarkdownTooDeep()) in response.json()["error"]
    draft.refresh_from_db()
    assert draft.body != TOO_DEEP_BODIES[0]


def test_autosave_of_a_body_over_the_limit_is_400(writer_client):
    response = autosave(writer_client, body="a" * (BODY_MAX_LENGTH + 1))
    assert response.status_code == 400
    assert not Post.objects.exists()


def test_autosave_keeps_a_drafts_series_and_tags(writer_client, make_post, tag, series):
    draft = make_post(status=Post.Status.DRAFT, tags=[tag], series=series, series_part=1)
    autosave(writer_client, autosave_url(draft), title=draft.title, slug=draft.slug)
    draft.refresh_from_db()
    assert (draft.series, draft.series_part) == (series, 1)
    assert list(draft.tags.all()) == [tag]


def test_autosave_records_the_tags_in_its_revision(writer_client, make_post, tag):
    draft = make_post(status=Post.Status.DRAFT, tags=[tag])
    autosave(writer_client, autosave_url(draft), title=draft.title, slug=draft.slug)
    assert revisions.revisions_of(draft).first().tag_names == ["Concurrency"]


# --------------------------------------------------------------------------- #
# The publishing buttons
# --------------------------------------------------------------------------- #


def post_in(make_post, state, **fields):
    """A post in a publishing state: "draft", "scheduled" (tomorrow) or "live"."""
    if state == "draft":
        return make_post(status=Post.Status.DRAFT, **fields)
    if state == "scheduled":
        return make_post(published_at=timezone.now() + timedelta(days=1), **fields)
    return make_post(**fields)


def add_post(client, action, **overrides):
    return client.post(
        reverse("admin:blog_post_add"), {**form_data(**overrides), "_action": action}
    )


def change_post(client, post, action, **overrides):
    return client.post(change_url(post), {**form_data(post, **overrides), "_action": action})


def test_save_draft_keeps_a_new_post_hidden(admin_client, admin_user, client):
    response = add_post(admin_client, "draft", author=admin_user.pk)
    post = Post.objects.get()
    assert response.status_code == 302
    assert response["Location"] == change_url(post)
    assert post.status == Post.Status.DRAFT
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 404


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("draft", "Saved as a draft: only staff can see it."),
        ("publish", 'Published: readers see it at <a href="/posts/written-in-the-editor/">'),
    ],
)
def test_a_button_comes_back_to_the_form_with_a_message(admin_client, admin_user, action, message):
    response = add_post(admin_client, action, author=admin_user.pk)
    assert response["Location"] == change_url(Post.objects.get())
    assert message in admin_client.get(response["Location"]).content.decode()


def test_save_draft_keeps_a_draft_hidden(admin_client, make_post, client):
    draft = make_post(status=Post.Status.DRAFT)
    assert change_post(admin_client, draft, "draft", body="Second go.").status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.body) == (Post.Status.DRAFT, "Second go.")
    client.logout()
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_publish_now_makes_a_new_post_public(admin_client, admin_user, client, clock):
    add_post(admin_client, "publish", author=admin_user.pk)
    post = Post.objects.get()
    assert post.published_at == NOON
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 200


def test_publish_now_replaces_a_future_time_with_now(admin_client, make_post, clock):
    draft = make_post(status=Post.Status.DRAFT)
    change_post(admin_client, draft, "publish", published_at=form_time(NOON + timedelta(days=3)))
    draft.refresh_from_db()
    assert draft.published_at == NOON
    assert draft.is_public


def test_publish_now_keeps_a_past_time(admin_client, make_post, clock):
    draft = make_post(status=Post.Status.DRAFT)
    change_post(admin_client, draft, "publish", published_at=form_time(NOON - timedelta(days=3)))
    draft.refresh_from_db()
    assert draft.published_at == NOON - timedelta(days=3)
    assert draft.is_public


def test_publish_now_makes_a_scheduled_post_public_now(admin_client, make_post, clock):
    post = make_post(published_at=NOON + timedelta(days=3))
    change_post(admin_client, post, "publish")
    post.refresh_from_db()
    assert post.published_at == NOON


def test_schedule_hides_a_post_until_its_time(admin_client, admin_user, client, clock):
    when = NOON + timedelta(hours=2)
    response = add_post(
        admin_client, "schedule", author=admin_user.pk, published_at=form_time(when)
    )
    assert response.status_code == 302
    post = Post.objects.get()
    assert (post.status, post.published_at) == (Post.Status.PUBLISHED, when)
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 404
    clock.move_to(when + timedelta(minutes=1))
    assert client.get(post.get_absolute_url()).status_code == 200


def test_schedule_says_when_in_the_message(admin_client, admin_user, clock, settings):
    settings.TIME_ZONE = "Europe/Paris"
    response = add_post(
        admin_client, "schedule", author=admin_user.pk, published_at="2026-03-02T15:30"
    )
    assert Post.objects.get().published_at == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    page = admin_client.get(response["Location"]).content.decode()
    assert "Scheduled: readers see it from 2026-03-02 15:30 CET." in page


@pytest.mark.parametrize("published_at", ["", "2026-03-01T12:00", "2026-03-02T12:00"])
def test_schedule_without_a_future_time_is_a_form_error(
    admin_client, make_post, clock, published_at
):
    draft = make_post(status=Post.Status.DRAFT)
    response = change_post(admin_client, draft, "schedule", published_at=published_at, body="New.")
    assert response.status_code == 200
    assert "To schedule, choose a time in the future" in response.content.decode()
    draft.refresh_from_db()
    assert (draft.status, draft.published_at) == (Post.Status.DRAFT, None)
    assert draft.body != "New."


def test_schedule_of_a_new_post_without_a_time_saves_nothing(admin_client, admin_user):
    response = add_post(admin_client, "schedule", author=admin_user.pk)
    assert response.status_code == 200
    assert not Post.objects.exists()


def test_schedule_moves_a_scheduled_posts_time(admin_client, make_post, clock):
    post = make_post(published_at=NOON + timedelta(days=1))
    later = NOON + timedelta(days=2)
    change_post(admin_client, post, "schedule", published_at=form_time(later))
    post.refresh_from_db()
    assert (post.published_at, post.is_scheduled) == (later, True)


def test_update_keeps_a_live_post_live_with_new_words(admin_client, make_post, client, clock):
    post = make_post()
    response = change_post(admin_client, post, "update", body="Fresh words, still live.")
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.is_public
    client.logout()
    assert "Fresh words, still live." in client.get(post.get_absolute_url()).content.decode()


def test_update_keeps_the_publish_time(admin_client, make_post, clock):
    published_at = NOON - timedelta(days=4)
    post = make_post(published_at=published_at)
    change_post(admin_client, post, "update", body="Fresh words.")
    post.refresh_from_db()
    assert post.published_at == published_at


def test_update_keeps_the_seconds_of_the_publish_time(admin_client, make_post):
    post = make_post(published_at=NOON - timedelta(days=4, seconds=-37, microseconds=-5))
    change_post(admin_client, post, "update", body="Fresh words.")
    post.refresh_from_db()
    assert post.published_at == datetime(2026, 2, 26, 12, 0, 37, 5, tzinfo=UTC)


def test_update_with_the_time_emptied_keeps_a_live_posts_time(admin_client, make_post):
    published_at = datetime(2026, 2, 26, 12, 0, 37, tzinfo=UTC)
    post = make_post(published_at=published_at)
    change_post(admin_client, post, "update", published_at="")
    post.refresh_from_db()
    assert post.published_at == published_at


def test_update_with_another_time_moves_it(admin_client, make_post):
    post = make_post(published_at=datetime(2026, 2, 26, 12, 0, 37, tzinfo=UTC))
    change_post(admin_client, post, "update", published_at="2026-02-25T09:15")
    post.refresh_from_db()
    assert post.published_at == datetime(2026, 2, 25, 9, 15, tzinfo=UTC)


def test_update_with_a_future_time_is_a_form_error_and_keeps_the_post_live(
    admin_client, make_post, clock
):
    post = make_post(published_at=NOON - timedelta(days=1))
    later = form_time(NOON + timedelta(days=1))
    response = change_post(admin_client, post, "update", published_at=later, body="Changed.")
    assert response.status_code == 200
    assert "A live post&#x27;s time cannot be in the future" in response.content.decode()
    post.refresh_from_db()
    assert (post.is_public, post.published_at) == (True, NOON - timedelta(days=1))
    assert post.body != "Changed."


def test_unpublish_makes_a_live_post_404_for_anonymous(admin_client, make_post, client):
    post = make_post()
    assert change_post(admin_client, post, "unpublish").status_code == 302
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 404


def test_unpublish_makes_a_scheduled_post_a_draft(admin_client, make_post, clock):
    post = make_post(published_at=NOON + timedelta(days=1))
    change_post(admin_client, post, "unpublish")
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT


@pytest.mark.parametrize(
    ("status", "days", "action"),
    [
        (Post.Status.DRAFT, None, "update"),
        (Post.Status.DRAFT, None, "unpublish"),
        (Post.Status.PUBLISHED, -1, "draft"),
        (Post.Status.PUBLISHED, -1, "publish"),
        (Post.Status.PUBLISHED, -1, "schedule"),
        (Post.Status.PUBLISHED, 1, "update"),
        (Post.Status.PUBLISHED, 1, "draft"),
        (Post.Status.PUBLISHED, -1, "delete-everything"),
    ],
)
def test_a_button_not_for_the_posts_state_is_a_form_error(
    admin_client, make_post, clock, status, days, action
):
    published_at = NOON + timedelta(days=days) if days else None
    post = make_post(status=status, published_at=published_at)
    response = change_post(admin_client, post, action, body="Changed.")
    assert response.status_code == 200
    assert "That button does not apply to this post; reload the page." in response.content.decode()
    post.refresh_from_db()
    assert (post.status, post.published_at) == (status, published_at)
    assert post.body != "Changed."


def test_markdown_nested_too_deep_is_a_form_error(admin_client, make_post):
    draft = make_post(status=Post.Status.DRAFT)
    response = change_post(admin_client, draft, "draft", body=TOO_DEEP_BODIES[2])
    assert response.status_code == 200
    assert str(MarkdownTooDeep()) in response.content.decode()
    draft.refresh_from_db()
    assert draft.body != TOO_DEEP_BODIES[2]


def test_a_button_not_for_a_new_post_saves_nothing(admin_client, admin_user):
    response = add_post(admin_client, "update", author=admin_user.pk)
    assert response.status_code == 200
    assert not Post.objects.exists()


def test_no_button_keeps_a_live_post_live(admin_client, make_post):
    post = make_post()
    data = form_data(post, body="Sent by a script.")
    assert admin_client.post(change_url(post), data).status_code == 302
    post.refresh_from_db()
    assert (post.is_public, post.body) == (True, "Sent by a script.")


@pytest.mark.parametrize(
    ("state", "buttons"),
    [
        ("new", ["draft", "publish", "schedule"]),
        ("draft", ["draft", "publish", "schedule"]),
        ("scheduled", ["schedule", "publish", "unpublish"]),
        ("live", ["update", "unpublish"]),
    ],
)
def test_form_renders_with_the_buttons_of_each_state(
    admin_client, make_post, tag, series, clock, state, buttons
):
    if state == "new":
        url = reverse("admin:blog_post_add")
    else:
        url = change_url(post_in(make_post, state, tags=[tag], series=series, series_part=1))
    response = admin_client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert buttons_in(content) == buttons
    if state != "new":
        assert f'<option value="{tag.pk}" selected>Concurrency</option>' in content
        assert "Model checking</option>" in content


def test_ctrl_s_on_a_live_post_presses_update(admin_client, make_post, clock):
    post = make_post()
    content = admin_client.get(change_url(post)).content.decode()
    post_form = content[content.index('id="post_form"') :]
    # Ctrl+S and Enter press the form's first submit button, the one marked as the default.
    first = re.search(r'<button type="submit"[^>]*>', post_form).group()
    assert 'value="update"' in first
    assert " default" in first
    change_post(admin_client, post, "update", title="Saved with Ctrl+S")
    post.refresh_from_db()
    assert (post.title, post.is_public) == ("Saved with Ctrl+S", True)


def test_publish_time_help_names_the_time_zone(admin_client, settings):
    settings.TIME_ZONE = "Europe/Paris"
    content = admin_client.get(reverse("admin:blog_post_add")).content.decode()
    assert "In Europe/Paris. Empty means the moment you publish" in content


def test_publish_time_shows_in_the_time_zone(admin_client, make_post, settings):
    settings.TIME_ZONE = "Europe/Paris"
    post = make_post(published_at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    content = admin_client.get(change_url(post)).content.decode()
    assert 'type="datetime-local" name="published_at" value="2026-07-01T10:00"' in content


def test_slug_help_shows_the_placeholder_escaped(admin_client):
    content = admin_client.get(reverse("admin:blog_post_add")).content.decode()
    assert "/posts/&lt;slug&gt;/." in content
    assert "<slug>" not in content
    assert "&amp;lt;slug" not in content


def test_slug_help_reads_as_the_placeholder(admin_client):
    content = admin_client.get(reverse("admin:blog_post_add")).content.decode()
    help_text = re.search(r'id="id_slug_helptext">(.*?)</div>', content).group(1)
    assert html.unescape(help_text) == "The post's address: /posts/<slug>/."


def test_a_body_at_its_limit_saves_from_a_url_encoded_form(admin_client, make_post):
    # What a browser sends without JavaScript: every emoji is 12 bytes once percent-encoded.
    draft = make_post(status=Post.Status.DRAFT)
    body = "😀" * BODY_MAX_LENGTH
    data = {**form_data(draft, body=body), "_action": "draft"}
    response = admin_client.post(
        change_url(draft), urlencode(data, doseq=True), content_type=FORM_ENCODED
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.body == body
