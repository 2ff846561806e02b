"""What the demo content looks like once loaded: read-only tests sharing one load."""

import re

import pytest

from blog.models import Post, Series

pytestmark = pytest.mark.usefixtures("demo_content")


def test_demo_listing_starts_with_the_newest_seed_post(client, db):
    response = client.get("/")
    assert response.context["post_list"][0].title == (
        "Why Queues Don’t Fix Overload (And What To Do Instead)"
    )
    assert "In-depth articles on building scalable systems" in response.content.decode()


def test_demo_dates_go_back_in_seed_order(db):
    dates = list(Post.objects.order_by("pk").values_list("published_at", flat=True))
    assert dates == sorted(dates, reverse=True)


def test_demo_formal_verification_posts_form_one_series_in_order(db):
    series = Series.objects.get()
    titles = list(series.posts.order_by("series_part").values_list("title", flat=True))
    assert [re.search(r"Part (\d)", title).group(1) for title in titles] == ["1", "2", "3"]


def test_demo_posts_have_tags_and_distinct_bodies(db):
    assert not Post.objects.filter(tags=None).exists()
    assert Post.objects.values("body").distinct().count() == 26


def test_demo_posts_are_not_shown_as_updated(client, db):
    post = Post.objects.order_by("published_at").first()
    assert "Updated" not in client.get(post.get_absolute_url()).content.decode()
