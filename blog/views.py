import logging
from contextlib import nullcontext

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.core.paginator import Page, Paginator
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_safe
from django.views.generic import DetailView, ListView

from blog import image_storage, search, sitemaps
from blog.authors import author_name, public_author_or_404
from blog.models import Post, Series, Tag
from blog.structured_data import blog_posting
from core.media import stored_file_response
from core.ratelimit import allow_request, client_ip, ip_bucket
from core.site import absolute_url

logger = logging.getLogger(__name__)

POSTS_PER_PAGE = 10


class IdsFirstPaginator(Paginator):
    """A page's posts chosen by id in a subquery, then loaded: OFFSET then walks only the listing
    index, not every earlier post's row, so page 500 costs about what page 1 does."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page_ids = self.object_list.values("pk")[bottom:top]
        return Page(self.object_list.filter(pk__in=page_ids), number, self)


class PostListView(ListView):
    paginate_by = POSTS_PER_PAGE
    paginator_class = IdsFirstPaginator

    def get_queryset(self):
        return Post.objects.published().for_cards()


class PostDetailView(DetailView):
    def get_queryset(self):
        return (
            Post.objects.visible_to(self.request.user)
            .select_related("series", "author")
            .prefetch_related("tags")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        post = self.object
        context["previous_post"] = post.previous_post()
        context["next_post"] = post.next_post()
        context["related_posts"] = post.related_posts()
        context["share_image"] = post.share_image
        context["structured_data"] = blog_posting(post, context["share_image"])
        if post.series_id:
            parts = list(
                Post.objects.visible_to(self.request.user)
                .filter(series_id=post.series_id)
                .order_by("series_part")
                .only("title", "slug", "status", "published_at", "series_part")
            )
            position = next(i for i, part in enumerate(parts) if part.pk == post.pk)
            context["series_parts"] = parts
            context["series_position"] = position + 1
            context["series_previous"] = parts[position - 1] if position > 0 else None
            context["series_next"] = parts[position + 1] if position + 1 < len(parts) else None
        return context


class PostsInGroupView(ListView):
    """A tag's or a series' public posts; a 404 when it has none, so drafts reveal nothing."""

    group_model = None
    allow_empty = False
    context_object_name = "posts"

    def get(self, request, *args, **kwargs):
        self.group = get_object_or_404(self.group_model, slug=kwargs["slug"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, **{self.group_model._meta.model_name: self.group})


class TagDetailView(PostsInGroupView):
    group_model = Tag
    paginate_by = POSTS_PER_PAGE
    paginator_class = IdsFirstPaginator
    template_name = "blog/tag_detail.html"

    def get_queryset(self):
        return Post.objects.published().filter(tags=self.group).for_cards()


class SeriesDetailView(PostsInGroupView):
    group_model = Series
    template_name = "blog/series_detail.html"

    def get_queryset(self):
        return (
            Post.objects.published().filter(series=self.group).order_by("series_part").for_cards()
        )


class AuthorDetailView(ListView):
    """An author's public posts; a 404 for anyone without one, so drafts reveal nobody."""

    paginate_by = POSTS_PER_PAGE
    paginator_class = IdsFirstPaginator
    context_object_name = "posts"
    template_name = "blog/author_detail.html"

    def get(self, request, *args, **kwargs):
        self.author = public_author_or_404(kwargs["username"])
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return Post.objects.published().filter(author=self.author).for_cards()

    def get_context_data(self, **kwargs):
        name = author_name(self.author)
        return super().get_context_data(
            **kwargs,
            author=self.author,
            author_name=name,
            title=f"Posts by {name}",
            description=f"Posts by {name} on {settings.SITE_NAME}.",
        )


class ArchiveView(ListView):
    """Every public post by year and month, in one query: a ListView the template groups
    with `{% regroup %}`. (ArchiveIndexView lists only the years, and then one page for each.)"""

    template_name = "blog/archive.html"
    context_object_name = "posts"

    extra_context = {"title": "Archive"}

    def get_queryset(self):
        return Post.objects.published().only("title", "slug", "published_at")

    def get_context_data(self, **kwargs):
        description = f"Every post on {settings.SITE_NAME}, by year and month."
        return super().get_context_data(**kwargs, description=description)


class TagListView(ListView):
    def get_queryset(self):
        return Tag.objects.with_public_posts().annotate(post_count=Count("posts"))


class SeriesListView(ListView):
    def get_queryset(self):
        return Series.objects.with_public_posts().annotate(post_count=Count("posts"))


class SearchView(ListView):
    template_name = "blog/search.html"
    context_object_name = "results"
    paginate_by = POSTS_PER_PAGE

    def get(self, request, *args, **kwargs):
        self.query = search.clean_query(request.GET.get("q", ""))
        if self.query and not allow_request(
            f"search:ip:{ip_bucket(client_ip(request))}", settings.SEARCHES_PER_IP_PER_MINUTE, 60
        ):
            return render(
                request, "blog/search_rate_limited.html", {"query": self.query}, status=429
            )
        if not self.query:
            return super().get(request, *args, **kwargs)
        # Inside a transaction (ATOMIC_REQUESTS, a test), a savepoint keeps a failed search from
        # spoiling the rest of it; in autocommit a failed query spoils nothing.
        in_transaction = not transaction.get_autocommit()
        try:
            with transaction.atomic() if in_transaction else nullcontext():
                return super().get(request, *args, **kwargs)
        except DatabaseError:
            if not connection.is_usable():
                raise  # an outage, which the site answers with its 503 page
            logger.warning("Search could not run the query %r", self.query, exc_info=True)
            context = {"query": self.query, "query_not_understood": True}
            return render(request, "blog/search.html", context)

    def get_queryset(self):
        if not self.query:
            return Post.objects.none()
        return search.find_posts(Post.objects.published(), self.query, connection)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs, query=self.query)
        for post in context["results"]:
            post.snippet = search.snippet_html(post, self.query)
        return context


def sitemap(request):
    """One sitemap while every address fits in one file; past that, an index of sitemaps."""
    sections = sitemaps.sections()
    if sum(section.paginator.count for section in sections.values()) <= Sitemap.limit:
        return sitemap_views.sitemap(request, sections)
    files = []
    for name, section in sections.items():
        location = absolute_url(reverse("blog:sitemap_section", kwargs={"section": name}))
        files += [sitemap_views.SitemapIndexItem(location, None)]
        files += [
            sitemap_views.SitemapIndexItem(f"{location}?p={page}", None)
            for page in range(2, section.paginator.num_pages + 1)
        ]
    return TemplateResponse(
        request, "sitemap_index.xml", {"sitemaps": files}, content_type="application/xml"
    )


def sitemap_section(request, section):
    return sitemap_views.sitemap(request, sitemaps.sections(), section=section)


@require_safe
def post_card(request, slug, key):
    """The title card link previews of a public post show, made on first request and kept in
    the storage; an old card's address (the title changed since) leads to the current one."""
    post = get_object_or_404(Post.objects.published().only("slug", "title"), slug=slug)
    current_key = image_storage.card_key(post.title)
    if key != current_key:
        return redirect("blog:post_card", slug=post.slug, key=current_key, permanent=True)
    return stored_file_response(image_storage.title_card(post.title))
