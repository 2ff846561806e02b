"""Atom, RSS 2.0 and JSON Feed 1.1 of the published posts: the whole blog, a tag, a series, an
author."""

import json

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.templatetags.static import static
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed, rfc3339_date
from django.utils.html import escape

from blog.authors import author_name, author_url, public_author_or_404
from blog.models import Post, Series, Tag
from blog.rendering import absolutize_links
from core.site import absolute_url, site_hostname

FEED_LENGTH = 20
# Square PNGs, as JSON Feed asks: a large one for timelines, a small one for lists of feeds.
FEED_ICON = "icons/icon-512.png"
FEED_FAVICON = "icons/favicon-64.png"


class AtomWithContent(Atom1Feed):
    """Atom with the whole post in <content>; Django's Atom1Feed only writes <summary>."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content_html"], {"type": "html"})


class JsonFeed(SyndicationFeed):
    """JSON Feed 1.1, https://www.jsonfeed.org/version/1.1/."""

    content_type = "application/feed+json; charset=utf-8"

    def write(self, outfile, encoding):
        items = [self._item(item) for item in self.items]
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": self.feed["title"],
            "home_page_url": self.feed["link"],
            "feed_url": self.feed["feed_url"],
            "description": self.feed["description"],
            "icon": self.feed["icon"],
            "favicon": self.feed["favicon"],
            "language": self.feed["language"],
        }
        # The feed's authors: everyone with a post in it, in the order their posts come.
        authors = {}
        for item in items:
            for author in item["authors"]:
                authors.setdefault(author["url"], author)
        if authors:
            feed["authors"] = list(authors.values())
        feed["items"] = items
        outfile.write(json.dumps(feed, ensure_ascii=False, indent=1))

    def _item(self, item):
        entry = {
            "id": item["unique_id"],
            "url": item["link"],
            "title": item["title"],
            "content_html": item["content_html"],
            "summary": item["summary_text"],
            "date_published": rfc3339_date(item["pubdate"]),
            "date_modified": rfc3339_date(item["updateddate"]),
            "authors": [{"name": item["author_name"], "url": item["author_link"]}],
        }
        if item["categories"]:
            entry["tags"] = list(item["categories"])
        return entry


class LatestPostsFeed(Feed):
    feed_type = AtomWithContent
    url_name = "blog:feed"

    def title(self):
        return settings.SITE_NAME

    def description(self):
        return settings.SITE_TAGLINE

    subtitle = description

    def link(self):
        return absolute_url(reverse("blog:post_list"))

    def feed_url(self, obj):
        return absolute_url(reverse(self.url_name, kwargs={"slug": obj.slug} if obj else None))

    def posts(self, obj):
        return Post.objects.published()

    def items(self, obj):
        return (
            self.posts(obj)
            .select_related("author")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("name")))
            .defer("body", "body_text", "toc_html", "search_vector")[:FEED_LENGTH]
        )

    def item_title(self, post):
        return post.title

    def item_link(self, post):
        return absolute_url(post.get_absolute_url())

    def item_description(self, post):
        # Atom's <summary type="html"> holds HTML, and a summary is plain text.
        return escape(post.summary)

    def item_guid(self, post):
        # Survives edits to the title, slug or publish date: the post's first day and its id.
        return f"tag:{site_hostname()},{post.created_at:%Y-%m-%d}:post:{post.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return max(post.updated_at, post.published_at)

    def item_author_name(self, post):
        return post.author_name

    def item_author_link(self, post):
        return absolute_url(author_url(post.author))

    def item_categories(self, post):
        return [tag.name for tag in post.tags.all()]

    def item_extra_kwargs(self, post):
        return {
            "content_html": absolutize_links(post.body_html, self.item_link(post)),
            "summary_text": post.summary,
        }


class LatestPostsRssFeed(LatestPostsFeed):
    feed_type = Rss201rev2Feed
    url_name = "blog:rss"

    def item_description(self, post):
        # RSS has one field for the entry's text: give the whole post.
        return absolutize_links(post.body_html, self.item_link(post))


class LatestPostsJsonFeed(LatestPostsFeed):
    feed_type = JsonFeed
    url_name = "blog:json_feed"

    def feed_extra_kwargs(self, obj):
        return {
            "icon": absolute_url(static(FEED_ICON)),
            "favicon": absolute_url(static(FEED_FAVICON)),
        }


class GroupFeed(LatestPostsFeed):
    """The posts of one tag or series; like its page, a 404 while it has no public posts."""

    group_model = None
    posts_field = None

    def get_object(self, request, slug):
        groups = self.group_model.objects.with_public_posts().distinct()
        return get_object_or_404(groups, slug=slug)

    def link(self, group):
        return absolute_url(group.get_absolute_url())

    def posts(self, group):
        return Post.objects.published().filter(**{self.posts_field: group})


class TagFeed(GroupFeed):
    url_name = "blog:tag_feed"
    group_model = Tag
    posts_field = "tags"

    def title(self, tag):
        return f"{settings.SITE_NAME}: posts tagged {tag.name}"


class SeriesFeed(GroupFeed):
    url_name = "blog:series_feed"
    group_model = Series
    posts_field = "series"

    def title(self, series):
        return f"{settings.SITE_NAME}: {series.title}"

    def description(self, series):
        return series.description or settings.SITE_TAGLINE

    subtitle = description


class AuthorFeed(LatestPostsFeed):
    """One author's posts; like their page, a 404 while they have no public posts."""

    url_name = "blog:author_feed"

    def get_object(self, request, username):
        return public_author_or_404(username)

    def title(self, author):
        return f"{settings.SITE_NAME}: posts by {author_name(author)}"

    def link(self, author):
        return absolute_url(author_url(author))

    def feed_url(self, author):
        return absolute_url(reverse(self.url_name, kwargs={"username": author.get_username()}))

    def posts(self, author):
        return Post.objects.published().filter(author=author)
