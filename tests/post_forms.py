"""What the admin's post form sends, for tests that press its buttons."""

from django.utils import timezone


def form_time(moment):
    """A time as the form's datetime-local input writes it, in the site's time zone."""
    return f"{timezone.localtime(moment):%Y-%m-%dT%H:%M}"


def post_form_data(post, **changes):
    """The post's current values as its form would send them, with `changes` on top."""
    return {
        "title": post.title,
        "slug": post.slug,
        "summary": post.summary,
        "body": post.body,
        "published_at": form_time(post.published_at) if post.published_at else "",
        "author": post.author_id,
        "tags": [tag.pk for tag in post.tags.all()],
        "series": post.series_id or "",
        "series_part": post.series_part or "",
        **changes,
    }
