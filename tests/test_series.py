import pytest
from django.db import IntegrityError

from blog.models import Post


@pytest.fixture
def three_parts(make_post, series):
    # Created out of order on purpose: part order, not date, decides.
    third = make_post(title="Part three", series=series, series_part=3)
    first = make_post(title="Part one", series=series, series_part=1)
    second = make_post(title="Part two", series=series, series_part=2)
    return first, second, third


def test_series_post_shows_part_n_of_m_and_every_part(client, three_parts):
    first, second, third = three_parts
    content = client.get(second.get_absolute_url()).content.decode()
    assert "Part 2 of 3 in" in content
    assert '<li aria-current="page">Part two</li>' in content
    assert f'<a href="{first.get_absolute_url()}">Part one</a>' in content
    assert f'<a href="{third.get_absolute_url()}">Part three</a>' in content


def test_series_post_links_previous_and_next_part(client, three_parts):
    first, second, third = three_parts
    content = client.get(second.get_absolute_url()).content.decode()
    assert f'rel="prev" href="{first.get_absolute_url()}">← Part 1: Part one' in content
    assert f'rel="next" href="{third.get_absolute_url()}">Part 3: Part three →' in content


def test_first_part_has_no_previous_part(client, three_parts):
    content = client.get(three_parts[0].get_absolute_url()).content.decode()
    assert "Part 1 of 3" in content
    assert "← Part" not in content


def test_series_page_lists_parts_in_order(client, three_parts, series):
    response = client.get(series.get_absolute_url())
    assert [post.title for post in response.context["posts"]] == [
        "Part one",
        "Part two",
        "Part three",
    ]
    assert "A series in 3 parts." in response.content.decode()


def test_staff_preview_of_draft_part_shows_it_in_the_series(
    staff_client, three_parts, make_post, series
):
    draft = make_post(title="Part four", status=Post.Status.DRAFT, series=series, series_part=4)
    content = staff_client.get(draft.get_absolute_url()).content.decode()
    assert "Part 4 of 4" in content


def test_part_number_is_unique_within_a_series(three_parts, make_post, series):
    with pytest.raises(IntegrityError):
        make_post(series=series, series_part=2)


def test_post_outside_series_has_no_series_nav(client, make_post):
    post = make_post()
    assert "series-nav" not in client.get(post.get_absolute_url()).content.decode()
