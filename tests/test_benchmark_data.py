import pytest
from django.db import connection
from django.db.models import Count

from bench import data as benchmark_data
from blog.models import Post, Series, Tag


@pytest.fixture
def loaded(db):
    benchmark_data.make_posts(40, tag_count=5, series_count=2, parts_per_series=3)
    return Post.objects.all()


def test_loader_makes_the_asked_number_of_published_posts_newest_first(loaded):
    assert Post.objects.published().count() == 40
    titles = list(Post.objects.published().values_list("title", flat=True)[:2])
    assert titles[0].endswith("(0)") and titles[1].endswith("(1)")


def test_loaded_posts_carry_rendered_bodies_and_reading_times(loaded):
    post = Post.objects.get(slug__endswith="-3")
    assert "<p>" in post.body_html and post.body_text
    assert post.reading_time >= 1


def test_every_loaded_post_has_two_of_the_tags(loaded):
    assert Tag.objects.count() == 5
    counts = set(loaded.annotate(tag_count=Count("tags")).values_list("tag_count", flat=True))
    assert counts == {2}


def test_the_newest_posts_form_the_series_in_order(loaded):
    assert Series.objects.count() == 2
    for series in Series.objects.all():
        parts = list(series.posts.order_by("series_part").values_list("series_part", flat=True))
        assert parts == [1, 2, 3]
    assert Post.objects.filter(series__isnull=True).count() == 34


def test_loading_again_adds_posts_with_new_slugs(loaded):
    benchmark_data.make_posts(5, tag_count=5, series_count=0)
    assert Post.objects.count() == 45
    assert Post.objects.values("slug").distinct().count() == 45


def test_loaded_posts_are_pages_readers_can_open(loaded, client):
    post = Post.objects.published().first()
    assert client.get("/").status_code == 200
    assert client.get(post.get_absolute_url()).status_code == 200
    assert client.get("/?page=4").status_code == 200


@pytest.mark.postgres
def test_loaded_posts_are_searchable_on_postgresql(loaded, client):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL full-text search")
    assert not Post.objects.filter(search_vector__isnull=True).exists()
    response = client.get("/search/", {"q": "queue"})
    assert response.status_code == 200
    assert len(response.context["results"]) > 0
