"""Many published posts, fast: copies of the demo posts, each demo body rendered only once."""

import json
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from blog import search
from blog.models import Post, Series, Tag

DEMO_CONTENT = Path(__file__).resolve().parent.parent / "blog" / "demo_content.json"
BATCH_SIZE = 1000


def make_posts(count, *, tag_count=20, series_count=5, parts_per_series=6, using="default"):
    """Add `count` published posts, newest first one minute apart, each with two of `tag_count`
    tags; the newest `series_count * parts_per_series` of them form series."""
    demos = json.loads(DEMO_CONTENT.read_text(encoding="utf-8"))["posts"]
    rendered = [Post(body=demo["body"]) for demo in demos]
    for template in rendered:
        template.render()
    author, _ = (
        get_user_model()
        .objects.using(using)
        .get_or_create(username="benchmark", defaults={"first_name": "Bench", "last_name": "Mark"})
    )
    tags = [
        Tag.objects.using(using).get_or_create(slug=f"topic-{n}", defaults={"name": f"Topic {n}"})[
            0
        ]
        for n in range(tag_count)
    ]
    series = [
        Series.objects.using(using).get_or_create(
            slug=f"series-{n}", defaults={"title": f"Series {n}"}
        )[0]
        for n in range(series_count)
    ]
    first = Post.objects.using(using).count()
    now = timezone.now()
    for start in range(0, count, BATCH_SIZE):
        posts = []
        for number in range(first + start, first + min(count, start + BATCH_SIZE)):
            demo, template = demos[number % len(demos)], rendered[number % len(demos)]
            in_series = number < series_count * parts_per_series
            posts.append(
                Post(
                    title=f"{demo['title']} ({number})",
                    slug=f"{demo['slug'][:180]}-{number}",
                    summary=demo["summary"],
                    body=demo["body"],
                    **{field: getattr(template, field) for field in Post.RENDERED_FIELDS},
                    status=Post.Status.PUBLISHED,
                    published_at=now - timedelta(minutes=number + 1),
                    author=author,
                    series=series[number // parts_per_series] if in_series else None,
                    series_part=number % parts_per_series + 1 if in_series else None,
                )
            )
        posts = Post.objects.using(using).bulk_create(posts)
        Post.tags.through.objects.using(using).bulk_create(
            Post.tags.through(post_id=post.pk, tag_id=tags[index].pk)
            for post in posts
            for index in two_tags(post.pk, tag_count)
        )
    if search.uses_full_text_search(connections[using]):
        Post.objects.using(using).filter(search_vector__isnull=True).update(
            search_vector=search.document_vector()
        )
    return count


def two_tags(number, tag_count):
    """Two different tag indices, in pairs that vary across posts."""
    first = number % tag_count
    second = (first + 1 + number // tag_count % max(1, tag_count - 1)) % tag_count
    return {first, second}
