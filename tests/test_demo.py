import re

from django.contrib.auth import get_user_model
from django.core.management import call_command

from blog.models import Post, Series


def test_load_demo_twice_gives_26_posts(db):
    call_command("load_demo")
    call_command("load_demo")
    assert Post.objects.count() == 26
    assert Post.objects.published().count() == 26


def test_demo_listing_starts_with_the_newest_seed_post(client, db):
    call_command("load_demo")
    response = client.get("/")
    assert response.context["post_list"][0].title == (
        "Why Queues Don’t Fix Overload (And What To Do Instead)"
    )
    assert "In-depth articles on building scalable systems" in response.content.decode()


def test_demo_dates_go_back_in_seed_order(db):
    call_command("load_demo")
    dates = list(Post.objects.order_by("pk").values_list("published_at", flat=True))
    assert dates == sorted(dates, reverse=True)


def test_demo_formal_verification_posts_form_one_series_in_order(db):
    call_command("load_demo")
    series = Series.objects.get()
    titles = list(series.posts.order_by("series_part").values_list("title", flat=True))
    assert [re.search(r"Part (\d)", title).group(1) for title in titles] == ["1", "2", "3"]


def test_demo_posts_have_tags_and_distinct_bodies(db):
    call_command("load_demo")
    assert not Post.objects.filter(tags=None).exists()
    assert Post.objects.values("body").distinct().count() == 26


def test_demo_posts_are_not_shown_as_updated(client, db):
    call_command("load_demo")
    post = Post.objects.order_by("published_at").first()
    assert "Updated" not in client.get(post.get_absolute_url()).content.decode()


def test_create_local_admin_prints_password_once(db, capsys):
    call_command("create_local_admin")
    first = capsys.readouterr().out
    password = re.search(r"password:\s+(\S+)", first).group(1)
    assert get_user_model().objects.get(username="admin").check_password(password)

    call_command("create_local_admin")
    second = capsys.readouterr().out
    assert password not in second
    assert "http://127.0.0.1:8000/admin/" in second
    assert get_user_model().objects.count() == 1
