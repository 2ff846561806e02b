"""Revisions of posts: one for each save in the admin, listed, compared and restored."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from blog import revisions
from blog.models import Post, Series, Tag

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def viewer_client(client, django_user_model):
    """A staff user who may look at posts but not change them."""
    viewer = django_user_model.objects.create_user("viewer", password="pw-viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_post"))
    client.force_login(viewer)
    return client


def change_url(post):
    return reverse("admin:blog_post_change", args=[post.pk])


def history_url(post):
    return reverse("admin:blog_post_history", args=[post.pk])


def revision_url(post, revision):
    return reverse("admin:blog_post_revision", args=[post.pk, revision.history_id])


def form_data(post, **overrides):
    published_at = post.published_at and timezone.localtime(post.published_at)
    data = {
        "title": post.title,
        "slug": post.slug,
        "summary": post.summary,
        "body": post.body,
        "published_at": f"{published_at:%Y-%m-%dT%H:%M}" if published_at else "",
        "author": post.author_id,
        "tags": [tag.pk for tag in post.tags.all()],
        "series": post.series_id or "",
        "series_part": post.series_part or "",
    }
    return {**data, **overrides}


def save_in_admin(client, post, action, **overrides):
    response = client.post(change_url(post), {**form_data(post, **overrides), "_action": action})
    assert response.status_code == 302, response.context["adminform"].form.errors
    post.refresh_from_db()
    return post


def newest(post):
    return revisions.revisions_of(post).first()


def test_admin_save_records_one_revision_with_user_reason_and_tags(
    admin_client, admin_user, make_post, tag
):
    post = make_post(status=Post.Status.DRAFT)
    before = post.history.count()
    save_in_admin(admin_client, post, "draft", body="Second go.", tags=[tag.pk])
    assert post.history.count() == before + 1
    revision = newest(post)
    assert revision.history_user == admin_user
    assert revision.history_change_reason == "Saved draft"
    assert revision.tag_names == ["Concurrency"]
    assert revision.body == "Second go."


def test_admin_add_records_one_created_revision_with_its_tags(admin_client, admin_user, tag):
    data = {
        "title": "New",
        "slug": "new",
        "summary": "S.",
        "body": "B.",
        "published_at": "",
        "author": admin_user.pk,
        "tags": [tag.pk],
        "_action": "publish",
    }
    admin_client.post(reverse("admin:blog_post_add"), data)
    post = Post.objects.get()
    (revision,) = post.history.all()
    assert revision.history_type == "+"
    assert revision.history_change_reason == "Published"
    assert revision.tag_names == ["Concurrency"]


@pytest.mark.parametrize(
    ("state", "action", "reason"),
    [
        ("draft", "draft", "Saved draft"),
        ("draft", "publish", "Published"),
        ("draft", "schedule", "Scheduled"),
        ("live", "update", "Updated"),
        ("live", "unpublish", "Unpublished"),
    ],
)
def test_each_button_names_its_revision(admin_client, make_post, clock, state, action, reason):
    status = Post.Status.DRAFT if state == "draft" else Post.Status.PUBLISHED
    post = make_post(status=status)
    when = {"published_at": "2026-03-09T12:00"} if action == "schedule" else {}
    save_in_admin(admin_client, post, action, **when)
    assert newest(post).history_change_reason == reason


def test_list_action_records_a_revision_by_its_user(admin_client, admin_user, make_post):
    draft = make_post(status=Post.Status.DRAFT)
    admin_client.post(
        reverse("admin:blog_post_changelist"),
        {"action": "publish_now", "_selected_action": [draft.pk]},
    )
    revision = newest(draft)
    assert (revision.history_user, revision.history_change_reason) == (admin_user, "Published")
    assert revision.status == Post.Status.PUBLISHED


def test_revisions_page_lists_them_newest_first(admin_client, make_post, clock):
    post = make_post(status=Post.Status.DRAFT, title="First title")
    clock.shift(timedelta(minutes=5))
    save_in_admin(admin_client, post, "draft", title="Second title")
    clock.shift(timedelta(minutes=5))
    save_in_admin(admin_client, post, "publish", title="Third title")
    response = admin_client.get(history_url(post))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.index("Third title") < content.index("Second title")
    assert content.index("Second title") < content.index("First title")
    assert "Published" in content
    assert "Saved draft" in content
    assert "admin" in content
    assert "(current)" in content
    for revision in post.history.all():
        assert revision_url(post, revision) in content


def test_revisions_page_makes_the_same_queries_for_many_revisions(
    admin_client, make_post, django_assert_num_queries
):
    post = make_post(status=Post.Status.DRAFT)
    for number in range(3):
        save_in_admin(admin_client, post, "draft", body=f"Take {number}.")
    # Session, user, the post (with its tags), the revisions with their users.
    with django_assert_num_queries(5):
        few = admin_client.get(history_url(post))
    for number in range(10):
        save_in_admin(admin_client, post, "draft", body=f"Take {number}.")
    with django_assert_num_queries(5):
        many = admin_client.get(history_url(post))
    assert many.content.decode().count("Saved draft") > few.content.decode().count("Saved draft")


def test_revision_page_shows_changed_title_and_body_lines(admin_client, make_post):
    post = make_post(title="Old title", body="Kept line.\nOld line.\nLast line.")
    old = newest(post)
    new_body = "Kept line.\nNew line.\nLast line."
    save_in_admin(admin_client, post, "update", title="New title", body=new_body)
    response = admin_client.get(revision_url(post, old))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<del>Old title</del>" in content
    assert "<ins>New title</ins>" in content
    assert '<span class="revision__line revision__line--removed">− Old line.</span>' in content
    assert '<span class="revision__line revision__line--added">+ New line.</span>' in content
    assert '<span class="revision__line revision__line--same">  Kept line.</span>' in content


def tagged_in_admin(client, make_post, tag, **fields):
    """A post whose newest revision holds its tag: `make_post` sets tags after saving."""
    return save_in_admin(client, make_post(**fields), "update", tags=[tag.pk])


def test_revision_page_shows_changed_tags(admin_client, make_post, tag):
    post = tagged_in_admin(admin_client, make_post, tag)
    old = newest(post)
    save_in_admin(admin_client, post, "update", tags=[])
    content = admin_client.get(revision_url(post, old)).content.decode()
    assert "<del>Concurrency</del>" in content
    assert "<ins>(none)</ins>" in content


def test_revision_page_escapes_the_words(admin_client, make_post):
    post = make_post(title="<b>Bold</b> title", body="<script>alert(1)</script>")
    old = newest(post)
    save_in_admin(admin_client, post, "update", title="Plain", body="Plain.")
    content = admin_client.get(revision_url(post, old)).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<b>Bold</b>" not in content


def test_revision_page_of_the_current_revision_says_so(admin_client, make_post):
    post = make_post()
    content = admin_client.get(revision_url(post, newest(post))).content.decode()
    assert "This is the current revision" in content
    assert "Restore this revision" not in content


def test_restore_brings_back_old_words_and_tags_as_a_new_revision(
    admin_client, admin_user, make_post, tag, clock
):
    post = tagged_in_admin(
        admin_client, make_post, tag, title="Old title", summary="Old summary.", body="Old body."
    )
    old = newest(post)
    clock.shift(timedelta(hours=1))
    other_tag = Tag.objects.create(name="Testing", slug="testing")
    new_words = {"title": "New", "summary": "New.", "body": "New.", "tags": [other_tag.pk]}
    save_in_admin(admin_client, post, "update", **new_words)
    count = post.history.count()
    clock.shift(timedelta(hours=1))

    response = admin_client.post(revision_url(post, old))

    assert response.status_code == 302
    assert response["Location"] == change_url(post)
    post.refresh_from_db()
    assert (post.title, post.summary, post.body) == ("Old title", "Old summary.", "Old body.")
    assert list(post.tags.all()) == [tag]
    assert "Old body." in post.body_html
    assert post.history.count() == count + 1
    restored = newest(post)
    assert restored.history_user == admin_user
    assert restored.history_change_reason == "Restored the revision of 2026-03-02 12:00"
    assert restored.tag_names == ["Concurrency"]


def test_restore_keeps_a_live_post_live_at_its_time(admin_client, make_post):
    post = make_post(body="Old body.")
    published_at = post.published_at
    old = newest(post)
    save_in_admin(admin_client, post, "unpublish", body="New body.")
    save_in_admin(admin_client, post, "publish")
    admin_client.post(revision_url(post, revisions.revisions_of(post).last()))
    post.refresh_from_db()
    assert (post.body, post.status, post.published_at) == (
        "Old body.",
        Post.Status.PUBLISHED,
        published_at,
    )
    assert old.status == Post.Status.PUBLISHED


def test_restore_of_a_published_revision_keeps_a_draft_a_draft(admin_client, make_post, client):
    post = make_post(body="Live words.")
    live = newest(post)
    save_in_admin(admin_client, post, "unpublish", body="Draft words.")
    admin_client.post(revision_url(post, live))
    post.refresh_from_db()
    assert (post.body, post.status) == ("Live words.", Post.Status.DRAFT)
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 404


def test_restore_brings_back_the_series_and_part(admin_client, make_post, series):
    post = make_post(series=series, series_part=2)
    old = newest(post)
    save_in_admin(admin_client, post, "update", series="", series_part="")
    admin_client.post(revision_url(post, old))
    post.refresh_from_db()
    assert (post.series, post.series_part) == (series, 2)


def test_restore_keeps_the_current_slug_when_another_post_took_it(admin_client, make_post):
    post = make_post(slug="first-slug", body="Old body.")
    old = newest(post)
    save_in_admin(admin_client, post, "update", slug="second-slug", body="New body.")
    make_post(slug="first-slug")
    response = admin_client.post(revision_url(post, old))
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.slug, post.body) == ("second-slug", "Old body.")


def test_restore_keeps_the_current_part_when_another_post_took_it(admin_client, make_post, series):
    post = make_post(series=series, series_part=1, body="Old body.")
    old = newest(post)
    save_in_admin(admin_client, post, "update", series_part="2", body="New body.")
    make_post(series=series, series_part=1)
    assert admin_client.post(revision_url(post, old)).status_code == 302
    post.refresh_from_db()
    assert (post.series, post.series_part, post.body) == (series, 2, "Old body.")


def test_restore_keeps_the_current_series_when_the_old_one_was_deleted(
    admin_client, make_post, series
):
    post = make_post(series=series, series_part=1, body="Old body.")
    old = newest(post)
    other = Series.objects.create(title="Other", slug="other")
    save_in_admin(admin_client, post, "update", series=other.pk, body="New body.")
    series.delete()
    assert admin_client.post(revision_url(post, old)).status_code == 302
    post.refresh_from_db()
    assert (post.series, post.series_part, post.body) == (other, 1, "Old body.")


def test_restore_makes_a_deleted_tag_again(admin_client, make_post, tag):
    post = tagged_in_admin(admin_client, make_post, tag)
    old = newest(post)
    tag.delete()
    admin_client.post(revision_url(post, old))
    assert [tag.name for tag in post.tags.all()] == ["Concurrency"]


def test_restore_needs_the_change_permission(viewer_client, make_post, admin_client):
    post = make_post(body="Old body.")
    old = newest(post)
    save_in_admin(admin_client, post, "update", body="New body.")
    count = post.history.count()
    page = viewer_client.get(revision_url(post, old))
    assert page.status_code == 200
    assert "Restore this revision" not in page.content.decode()
    assert viewer_client.post(revision_url(post, old)).status_code == 403
    post.refresh_from_db()
    assert post.body == "New body."
    assert post.history.count() == count


def test_viewer_sees_the_revisions_list(viewer_client, make_post):
    post = make_post()
    assert viewer_client.get(history_url(post)).status_code == 200


def test_revisions_need_the_admin(client, make_post):
    post = make_post()
    response = client.get(revision_url(post, newest(post)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert client.post(revision_url(post, newest(post))).status_code == 302


def test_revision_of_another_post_is_404(admin_client, make_post):
    post, other = make_post(), make_post(body="Other body.")
    other_revision = newest(other)
    assert admin_client.get(revision_url(post, other_revision)).status_code == 404
    assert admin_client.post(revision_url(post, other_revision)).status_code == 404
    post.refresh_from_db()
    assert post.body != "Other body."


def test_revision_of_a_missing_post_redirects_to_the_admin(admin_client):
    response = admin_client.get(reverse("admin:blog_post_revision", args=[999, 1]))
    assert response.status_code == 302


def test_change_form_links_to_the_revisions(admin_client, make_post):
    post = make_post()
    assert history_url(post) in admin_client.get(change_url(post)).content.decode()
