from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Post

DRAFT = Post.Status.DRAFT
PUBLISHED = Post.Status.PUBLISHED


@pytest.fixture
def live(make_post, tag, series):
    return make_post(title="Live post", tags=[tag], series=series, series_part=1)


@pytest.fixture
def draft(make_post, tag, series):
    return make_post(title="Secret draft", status=DRAFT, tags=[tag], series=series, series_part=2)


@pytest.fixture
def scheduled(make_post, tag, series):
    return make_post(
        title="Future post",
        published_at=timezone.now() + timedelta(hours=1),
        tags=[tag],
        series=series,
        series_part=3,
    )


def test_published_includes_only_published_posts_whose_time_has_come(live, draft, scheduled):
    assert list(Post.objects.published()) == [live]


def test_scheduled_post_becomes_published_when_its_time_passes(scheduled):
    Post.objects.filter(pk=scheduled.pk).update(published_at=timezone.now() - timedelta(seconds=1))
    assert list(Post.objects.published()) == [scheduled]


def test_publishing_without_a_time_uses_now(make_post):
    post = make_post(status=DRAFT)
    assert post.published_at is None
    post.status = PUBLISHED
    post.save()
    assert post.published_at <= timezone.now()
    assert list(Post.objects.published()) == [post]


@pytest.mark.parametrize("fixture", ["draft", "scheduled"])
def test_unpublished_post_is_404_for_anonymous(client, request, fixture):
    post = request.getfixturevalue(fixture)
    response = client.get(post.get_absolute_url())
    assert response.status_code == 404
    assert post.title not in response.content.decode()


@pytest.mark.parametrize("fixture", ["draft", "scheduled"])
def test_unpublished_post_is_404_for_logged_in_non_staff(
    client, request, fixture, django_user_model
):
    post = request.getfixturevalue(fixture)
    client.force_login(django_user_model.objects.create_user("reader", password="x-y-z-1-2-3"))
    assert client.get(post.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("url_name", ["blog:post_list", "blog:tag_list", "blog:series_list"])
def test_listings_hide_drafts_and_scheduled_posts(client, live, draft, scheduled, url_name):
    content = client.get(reverse(url_name)).content.decode()
    assert "Secret draft" not in content
    assert "Future post" not in content


def test_tag_page_lists_only_published_posts(client, live, draft, scheduled, tag):
    content = client.get(tag.get_absolute_url()).content.decode()
    assert "Live post" in content
    assert "Secret draft" not in content
    assert "Future post" not in content


def test_series_page_lists_only_published_posts(client, live, draft, scheduled, series):
    content = client.get(series.get_absolute_url()).content.decode()
    assert "Live post" in content
    assert "Secret draft" not in content
    assert "Future post" not in content


def test_series_nav_counts_only_published_parts_for_anonymous(client, live, draft, scheduled):
    content = client.get(live.get_absolute_url()).content.decode()
    assert "Part 1 of 1" in content
    assert "Secret draft" not in content
    assert "Future post" not in content


def test_tag_with_only_unpublished_posts_is_404(client, make_post, tag):
    make_post(status=DRAFT, tags=[tag])
    make_post(published_at=timezone.now() + timedelta(days=1), tags=[tag])
    assert client.get(tag.get_absolute_url()).status_code == 404


def test_series_with_only_unpublished_posts_is_404(client, make_post, series):
    make_post(status=DRAFT, series=series, series_part=1)
    assert client.get(series.get_absolute_url()).status_code == 404


def test_prev_next_links_skip_unpublished_posts(client, make_post):
    now = timezone.now()
    older = make_post(title="Older live", published_at=now - timedelta(days=3))
    make_post(title="Secret draft", status=DRAFT, published_at=now - timedelta(days=2))
    middle = make_post(title="Middle live", published_at=now - timedelta(days=1))
    make_post(title="Future post", published_at=now + timedelta(days=1))

    content = client.get(middle.get_absolute_url()).content.decode()
    assert older.get_absolute_url() in content
    assert "Secret draft" not in content
    assert "Future post" not in content
    assert "Next post" not in content


def test_staff_preview_draft_with_banner_and_noindex(staff_client, draft):
    response = staff_client.get(draft.get_absolute_url())
    content = response.content.decode()
    assert response.status_code == 200
    assert "Draft: only staff can see this page." in content
    assert '<meta name="robots" content="noindex, nofollow">' in content


def test_staff_preview_scheduled_post_with_banner_and_noindex(staff_client, scheduled):
    response = staff_client.get(scheduled.get_absolute_url())
    content = response.content.decode()
    assert response.status_code == 200
    assert "Scheduled for" in content
    assert '<meta name="robots" content="noindex, nofollow">' in content


def test_published_post_has_no_banner_and_no_noindex_for_readers(client, live):
    content = client.get(live.get_absolute_url()).content.decode()
    assert "status-banner" not in content
    assert "Edit this post" not in content
    assert "noindex" not in content


def test_staff_see_an_edit_link_on_a_published_post(staff_client, live):
    content = staff_client.get(live.get_absolute_url()).content.decode()
    assert f'href="/admin/blog/post/{live.pk}/change/">Edit this post</a>' in content
    assert "noindex" not in content


@pytest.mark.parametrize("which", ["draft", "scheduled"])
def test_staff_banner_of_an_unpublished_post_links_to_its_form(staff_client, which, request):
    post = request.getfixturevalue(which)
    content = staff_client.get(post.get_absolute_url()).content.decode()
    assert f'href="/admin/blog/post/{post.pk}/change/">Edit this post</a>' in content


def test_staff_do_not_see_drafts_on_the_public_listing(staff_client, live, draft):
    content = staff_client.get(reverse("blog:post_list")).content.decode()
    assert "Live post" in content
    assert "Secret draft" not in content


def test_scheduled_post_appears_on_the_site_by_itself_when_its_time_comes(client, scheduled):
    assert "Future post" not in client.get(reverse("blog:post_list")).content.decode()
    assert client.get(scheduled.get_absolute_url()).status_code == 404

    Post.objects.filter(pk=scheduled.pk).update(published_at=timezone.now() - timedelta(seconds=1))

    assert "Future post" in client.get(reverse("blog:post_list")).content.decode()
    assert client.get(scheduled.get_absolute_url()).status_code == 200


def test_is_public_agrees_with_published_for_every_state(live, draft, scheduled):
    public_pks = set(Post.objects.published().values_list("pk", flat=True))
    for post in (live, draft, scheduled):
        assert post.is_public == (post.pk in public_pks)
