from datetime import timedelta

import pytest
from django.utils import timezone

from blog.models import Tag

SIZES = [5, 50]


@pytest.fixture(params=SIZES, ids=lambda size: f"{size}-posts")
def blog_of_size(request, make_post, series):
    tags = [Tag.objects.create(name=f"Topic {n}", slug=f"topic-{n}") for n in range(8)]
    now = timezone.now()
    posts = [
        make_post(
            published_at=now - timedelta(hours=n + 1),
            tags=tags[n % 3 : n % 3 + 4],
            series=series,
            series_part=n + 1,
        )
        for n in range(request.param)
    ]
    return posts, tags


def test_listing_page_queries(client, blog_of_size, django_assert_num_queries):
    with django_assert_num_queries(3):  # count, page of posts, their tags
        assert client.get("/").status_code == 200


def test_later_listing_page_queries(client, blog_of_size, django_assert_num_queries):
    posts, _ = blog_of_size
    page = 1 if len(posts) <= 10 else 5
    with django_assert_num_queries(3):
        assert client.get("/", {"page": page}).status_code == 200


def test_post_page_queries(client, blog_of_size, django_assert_num_queries):
    posts, _ = blog_of_size
    middle = posts[len(posts) // 2]
    # post with series and author, its tags, previous, next, related posts, the series' parts
    with django_assert_num_queries(6):
        assert client.get(middle.get_absolute_url()).status_code == 200


def test_tag_page_queries(client, blog_of_size, django_assert_num_queries):
    _, tags = blog_of_size
    # tag, any posts?, count, page of posts, their tags
    with django_assert_num_queries(5):
        assert client.get(tags[3].get_absolute_url()).status_code == 200


def test_series_page_queries(client, blog_of_size, series, django_assert_num_queries):
    with django_assert_num_queries(3):  # series, its posts, their tags
        assert client.get(series.get_absolute_url()).status_code == 200


def test_tag_index_queries(client, blog_of_size, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert client.get("/tags/").status_code == 200


def test_series_index_queries(client, blog_of_size, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert client.get("/series/").status_code == 200


def test_search_page_queries(client, blog_of_size, django_assert_num_queries):
    # The rate limit's count (and, first in its window, forgetting ended windows), the number of
    # results, then the page of results with their snippets. Inside the test's transaction the
    # search's atomic block is a savepoint, so SAVEPOINT and RELEASE show as queries too.
    with django_assert_num_queries(6):
        response = client.get("/search/", {"q": "post"})
    assert response.status_code == 200
    assert response.context["paginator"].count == len(blog_of_size[0])


def test_empty_search_page_makes_no_queries(client, blog_of_size, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/search/", {"q": " "}).status_code == 200
