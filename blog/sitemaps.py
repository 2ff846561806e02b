"""The sitemap: every public post, tag, series and author page, with when it last changed."""

from django.contrib.sitemaps import Sitemap
from django.core.paginator import Paginator
from django.db.models import Max
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils.functional import cached_property

from blog.authors import author_url, public_authors
from blog.models import Post, Series, Tag
from core.site import site_domain, site_scheme


class SiteSitemap(Sitemap):
    """Addresses under SITE_URL, whatever host the request came in on."""

    def get_protocol(self, protocol=None):
        return site_scheme()

    def get_domain(self, site=None):
        return site_domain()

    @cached_property
    def paginator(self):
        # Django builds a new paginator, and counts again, each time it is asked.
        return Paginator(self._items(), self.limit)


class PageSitemap(SiteSitemap):
    def items(self):
        return ["blog:post_list", "blog:archive", "blog:tag_list", "blog:series_list"]

    def location(self, url_name):
        return reverse(url_name)


class PostSitemap(SiteSitemap):
    def items(self):
        return Post.objects.published().only("slug", "updated_at", "published_at").order_by("pk")

    def lastmod(self, post):
        return max(post.updated_at, post.published_at)


LAST_CHANGE = Max(Greatest("posts__updated_at", "posts__published_at"))


def with_last_change(groups):
    return groups.with_public_posts().annotate(last_change=LAST_CHANGE).only("slug").order_by("pk")


class TagSitemap(SiteSitemap):
    def items(self):
        return with_last_change(Tag.objects)

    def lastmod(self, tag):
        return tag.last_change


class SeriesSitemap(SiteSitemap):
    def items(self):
        return with_last_change(Series.objects)

    def lastmod(self, series):
        return series.last_change


class AuthorSitemap(SiteSitemap):
    def items(self):
        authors = public_authors().annotate(last_change=LAST_CHANGE)
        return authors.only(authors.model.USERNAME_FIELD).order_by("pk")

    def location(self, author):
        return author_url(author)

    def lastmod(self, author):
        return author.last_change


SECTIONS = {
    "pages": PageSitemap,
    "posts": PostSitemap,
    "tags": TagSitemap,
    "series": SeriesSitemap,
    "authors": AuthorSitemap,
}


def sections():
    return {name: section() for name, section in SECTIONS.items()}
