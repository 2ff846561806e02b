from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from blog.models import Post, Series, Tag


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # The manifest storage needs `collectstatic`; tests don't serve static files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def author(db):
    return get_user_model().objects.create_user(
        username="ada", password="correct-horse-battery", is_staff=True
    )


@pytest.fixture
def staff_client(client, author):
    client.force_login(author)
    return client


@pytest.fixture
def make_post(author):
    counter = iter(range(1, 10_000))

    def make_post(*, status=Post.Status.PUBLISHED, published_at=None, tags=(), **fields):
        number = next(counter)
        if published_at is None and status == Post.Status.PUBLISHED:
            published_at = timezone.now() - timedelta(days=number)
        post = Post.objects.create(
            title=fields.pop("title", f"Post number {number}"),
            slug=fields.pop("slug", f"post-number-{number}"),
            summary=fields.pop("summary", f"Summary of post {number}."),
            body=fields.pop("body", f"Body of post {number}.\n\n## A section\n\nMore words."),
            status=status,
            published_at=published_at,
            author=author,
            **fields,
        )
        post.tags.set(tags)
        return post

    return make_post


@pytest.fixture
def tag(db):
    return Tag.objects.create(name="Concurrency", slug="concurrency")


@pytest.fixture
def series(db):
    return Series.objects.create(title="Model checking", slug="model-checking")
