from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Post


@pytest.fixture
def twenty_three_posts(make_post, tag):
    now = timezone.now()
    return [
        make_post(title=f"Post {n:02d}", published_at=now - timedelta(days=n), tags=[tag])
        for n in range(1, 24)
    ]


def titles_on(response):
    return [post.title for post in response.context["post_list"]]


def test_listing_shows_tagline(client, db):
    response = client.get(reverse("blog:post_list"))
    assert response.status_code == 200
    assert "In-depth articles on building scalable systems and backend engineering." in (
        response.content.decode()
    )


def test_listing_is_newest_first_ten_a_page(client, twenty_three_posts):
    response = client.get(reverse("blog:post_list"))
    assert titles_on(response) == [f"Post {n:02d}" for n in range(1, 11)]


def test_listing_card_shows_title_link_summary_date_reading_time_and_tags(client, make_post, tag):
    post = make_post(title="Backpressure", summary="Why queues fill up.", tags=[tag])
    content = client.get(reverse("blog:post_list")).content.decode()
    assert f'<a href="{post.get_absolute_url()}">Backpressure</a>' in content
    assert "Why queues fill up." in content
    assert f'datetime="{post.published_at.replace(microsecond=0).isoformat()}"' in content
    assert "1 min read" in content
    assert f'href="{tag.get_absolute_url()}">Concurrency</a>' in content


def test_listing_pages_link_newer_and_older(client, twenty_three_posts):
    response = client.get(reverse("blog:post_list"), {"page": 2})
    content = response.content.decode()
    assert titles_on(response) == [f"Post {n:02d}" for n in range(11, 21)]
    assert 'href="?page=1">← Newer posts' in content
    assert 'href="?page=3">Older posts →' in content
    assert "Page 2 of 3" in content


def test_last_listing_page_has_the_remainder(client, twenty_three_posts):
    response = client.get(reverse("blog:post_list"), {"page": 3})
    assert titles_on(response) == ["Post 21", "Post 22", "Post 23"]
    assert "Older posts" not in response.content.decode()


@pytest.mark.parametrize("page", ["4", "0", "-1", "abc", "2.5", "9" * 30, "1e3", "%00"])
def test_bad_page_values_are_404_not_500(client, twenty_three_posts, page):
    response = client.get(reverse("blog:post_list"), {"page": page})
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_tag_page_paginates_too(client, twenty_three_posts, tag):
    assert client.get(tag.get_absolute_url(), {"page": 3}).status_code == 200
    assert client.get(tag.get_absolute_url(), {"page": 4}).status_code == 404


def test_unknown_post_tag_and_series_are_404(client, db):
    for url in ["/posts/nope/", "/tags/nope/", "/series/nope/"]:
        assert client.get(url).status_code == 404


def test_empty_blog_listing_says_so(client, db):
    assert "Nothing has been published yet." in client.get("/").content.decode()


def test_tag_index_counts_published_posts_only(client, make_post, tag):
    make_post(tags=[tag])
    make_post(tags=[tag], status=Post.Status.DRAFT)
    content = client.get(reverse("blog:tag_list")).content.decode()
    assert "Concurrency" in content
    assert "1 post<" in content


def test_post_page_shows_title_date_reading_time_tags_and_body(client, make_post, tag):
    post = make_post(title="Atomics", body="Hello **world**.", tags=[tag])
    content = client.get(post.get_absolute_url()).content.decode()
    assert '<h1 class="post-title">Atomics</h1>' in content
    assert "<strong>world</strong>" in content
    assert "1 min read" in content
    assert f'datetime="{post.published_at.replace(microsecond=0).isoformat()}"' in content
    assert "Concurrency" in content


def test_post_edited_days_after_publishing_shows_updated(client, make_post):
    post = make_post(published_at=timezone.now() - timedelta(days=10))
    content = client.get(post.get_absolute_url()).content.decode()
    assert "Updated" in content


def test_post_not_edited_after_publishing_has_no_updated(client, make_post):
    post = make_post(published_at=timezone.now() - timedelta(days=10))
    Post.objects.filter(pk=post.pk).update(updated_at=post.published_at)
    assert "Updated" not in client.get(post.get_absolute_url()).content.decode()


def test_reading_time_counts_words(make_post):
    post = make_post(body="word " * 1000)
    assert post.reading_time == 5


def test_post_links_to_previous_and_next(client, make_post):
    now = timezone.now()
    older = make_post(title="Older", published_at=now - timedelta(days=3))
    middle = make_post(title="Middle", published_at=now - timedelta(days=2))
    newer = make_post(title="Newer", published_at=now - timedelta(days=1))
    content = client.get(middle.get_absolute_url()).content.decode()
    assert f'rel="prev" href="{older.get_absolute_url()}"' in content
    assert f'rel="next" href="{newer.get_absolute_url()}"' in content


def test_posts_published_at_the_same_instant_still_chain(make_post):
    moment = timezone.now() - timedelta(days=1)
    first = make_post(published_at=moment)
    second = make_post(published_at=moment)
    assert first.next_post() == second
    assert second.previous_post() == first
