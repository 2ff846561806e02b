"""Authors as readers meet them: a name, a page of their public posts, a feed.

An author has a page only while they have a public post, so a draft reveals nobody: the rule
lives here, for the page, its feed and the sitemap alike.
"""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.urls import reverse

from blog.models import Post


def public_authors():
    """Users with at least one public post, one row per such post (add `distinct()` for one row
    per user)."""
    return get_user_model().objects.filter(posts__in=Post.objects.published())


def public_author_or_404(username):
    # A NUL cannot be stored in a username, and PostgreSQL refuses to compare with one.
    if "\x00" in username:
        raise Http404("No author by this name.")
    field = get_user_model().USERNAME_FIELD
    author = (
        public_authors()
        .filter(**{field: username})
        .only(field, "first_name", "last_name")
        .distinct()
        .first()
    )
    if author is None:
        raise Http404("No author by this name.")
    return author


def author_name(user):
    """The full name, or the username for someone who gave none."""
    return user.get_full_name() or user.get_username()


def author_url(user):
    return reverse("blog:author_detail", kwargs={"username": user.get_username()})
