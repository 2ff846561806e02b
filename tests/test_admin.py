from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from blog.models import Post


@pytest.fixture
def author_in_group(django_user_model):
    user = django_user_model.objects.create_user(
        "writer", password="correct-horse-battery", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Authors"))
    return user


def add_form_data(**overrides):
    return {
        "title": "Written in the admin",
        "slug": "written-in-the-admin",
        "summary": "A post made through the add form.",
        "body": "## Hello\n\nFrom the **admin**.",
        "_action": "publish",
        "published_at": "",
        "series_part": "",
        **overrides,
    }


def test_post_created_in_admin_appears_on_the_site(client, admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:blog_post_add"), add_form_data(author=admin_user.pk)
    )
    assert response.status_code == 302
    client.logout()
    page = client.get("/posts/written-in-the-admin/")
    assert page.status_code == 200
    assert "<strong>admin</strong>" in page.content.decode()
    assert "Written in the admin" in client.get("/").content.decode()


def test_draft_created_in_admin_is_hidden_until_published(client, admin_client, admin_user):
    admin_client.post(
        reverse("admin:blog_post_add"), add_form_data(author=admin_user.pk, _action="draft")
    )
    client.logout()
    assert client.get("/posts/written-in-the-admin/").status_code == 404


def test_add_form_defaults_author_to_logged_in_user(admin_client, admin_user):
    response = admin_client.get(reverse("admin:blog_post_add"))
    assert response.context["adminform"].form.initial["author"] == admin_user.pk


def test_add_form_fills_slug_from_title(admin_client):
    content = admin_client.get(reverse("admin:blog_post_add")).content.decode()
    assert "prepopulated_fields" in content or "data-prepopulated-fields" in content


def test_changelist_shows_status_and_filters(admin_client, make_post, tag, series):
    make_post(title="Live one", tags=[tag], series=series, series_part=1)
    make_post(title="Draft one", status=Post.Status.DRAFT)
    make_post(title="Later one", published_at=timezone.now() + timedelta(days=2))
    url = reverse("admin:blog_post_changelist")

    content = admin_client.get(url).content.decode()
    assert "Scheduled" in content
    assert "Concurrency" in content
    assert "Model checking" in content

    def titles(**params):
        response = admin_client.get(url, params)
        return {post.title for post in response.context["cl"].result_list}

    assert titles(visibility="draft") == {"Draft one"}
    assert titles(visibility="scheduled") == {"Later one"}
    assert titles(visibility="published") == {"Live one"}
    assert titles(tags__id__exact=tag.pk) == {"Live one"}
    assert titles(q="Draft") == {"Draft one"}


def test_publish_now_action_publishes_drafts_and_scheduled_posts(admin_client, make_post):
    draft = make_post(status=Post.Status.DRAFT)
    scheduled = make_post(published_at=timezone.now() + timedelta(days=2))
    admin_client.post(
        reverse("admin:blog_post_changelist"),
        {"action": "publish_now", "_selected_action": [draft.pk, scheduled.pk]},
    )
    assert set(Post.objects.published()) == {draft, scheduled}


def test_publish_now_keeps_the_original_date_of_a_republished_post(admin_client, make_post):
    first_published = timezone.now() - timedelta(days=30)
    post = make_post(status=Post.Status.DRAFT, published_at=first_published)
    admin_client.post(
        reverse("admin:blog_post_changelist"),
        {"action": "publish_now", "_selected_action": [post.pk]},
    )
    post.refresh_from_db()
    assert post.published_at == first_published
    assert post.status == Post.Status.PUBLISHED


def test_unpublish_action_hides_post(admin_client, client, make_post):
    post = make_post()
    admin_client.post(
        reverse("admin:blog_post_changelist"),
        {"action": "unpublish", "_selected_action": [post.pk]},
    )
    client.logout()
    assert client.get(post.get_absolute_url()).status_code == 404


def test_view_on_site_works_for_drafts(admin_client, make_post):
    draft = make_post(status=Post.Status.DRAFT)
    content_type = ContentType.objects.get_for_model(Post)
    response = admin_client.get(
        reverse("admin:view_on_site", args=[content_type.pk, draft.pk]), follow=True
    )
    assert response.status_code == 200
    assert "Draft: only staff can see this page." in response.content.decode()


def test_series_admin_shows_parts_in_order(admin_client, make_post, series):
    make_post(title="Second part", series=series, series_part=2)
    make_post(title="First part", series=series, series_part=1)
    content = admin_client.get(
        reverse("admin:blog_series_change", args=[series.pk])
    ).content.decode()
    assert content.index("First part") < content.index("Second part")


def test_authors_group_can_write_posts(client, author_in_group):
    client.force_login(author_in_group)
    assert client.get(reverse("admin:blog_post_add")).status_code == 200
    assert client.get(reverse("admin:blog_tag_add")).status_code == 200
    assert client.get(reverse("admin:blog_series_add")).status_code == 200
    assert client.get(reverse("admin:blog_image_add")).status_code == 200
    response = client.post(reverse("admin:blog_post_add"), add_form_data(author=author_in_group.pk))
    assert response.status_code == 302
    assert Post.objects.filter(slug="written-in-the-admin", author=author_in_group).exists()


def test_authors_group_cannot_touch_users_or_groups(client, author_in_group):
    client.force_login(author_in_group)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_non_staff_cannot_reach_the_admin(client, django_user_model):
    user = django_user_model.objects.create_user("reader", password="correct-horse-battery")
    client.force_login(user)
    assert client.get(reverse("admin:blog_post_add")).status_code == 302


def test_series_without_part_number_is_a_form_error_not_a_500(admin_client, admin_user, series):
    response = admin_client.post(
        reverse("admin:blog_post_add"), add_form_data(author=admin_user.pk, series=series.pk)
    )
    assert response.status_code == 200
    assert "A post in a series needs its part number." in response.content.decode()
    assert not Post.objects.exists()


def test_duplicate_part_number_is_a_form_error_not_a_500(
    admin_client, admin_user, series, make_post
):
    make_post(series=series, series_part=1)
    response = admin_client.post(
        reverse("admin:blog_post_add"),
        add_form_data(author=admin_user.pk, series=series.pk, series_part="1"),
    )
    assert response.status_code == 200
    assert "This series already has a part with this number." in response.content.decode()
    assert Post.objects.count() == 1


def test_duplicate_slug_is_a_form_error_not_a_500(admin_client, admin_user, make_post):
    make_post(slug="written-in-the-admin")
    response = admin_client.post(
        reverse("admin:blog_post_add"), add_form_data(author=admin_user.pk)
    )
    assert response.status_code == 200
    assert "Post with this Slug already exists." in response.content.decode()
