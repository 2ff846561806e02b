from django.urls import path

from blog import feeds, views
from core.page_cache import public_page

app_name = "blog"

urlpatterns = [
    path("", public_page(views.PostListView.as_view(), ["page"]), name="post_list"),
    path("posts/<slug:slug>/", public_page(views.PostDetailView.as_view()), name="post_detail"),
    path("posts/<slug:slug>/card-<str:key>.png", views.post_card, name="post_card"),
    path("tags/", public_page(views.TagListView.as_view()), name="tag_list"),
    path(
        "tags/<slug:slug>/", public_page(views.TagDetailView.as_view(), ["page"]), name="tag_detail"
    ),
    path("tags/<slug:slug>/feed/", public_page(feeds.TagFeed()), name="tag_feed"),
    path("series/", public_page(views.SeriesListView.as_view()), name="series_list"),
    path(
        "series/<slug:slug>/",
        public_page(views.SeriesDetailView.as_view()),
        name="series_detail",
    ),
    path("series/<slug:slug>/feed/", public_page(feeds.SeriesFeed()), name="series_feed"),
    path("archive/", public_page(views.ArchiveView.as_view()), name="archive"),
    path(
        "authors/<str:username>/",
        public_page(views.AuthorDetailView.as_view(), ["page"]),
        name="author_detail",
    ),
    path("authors/<str:username>/feed/", public_page(feeds.AuthorFeed()), name="author_feed"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("feed/", public_page(feeds.LatestPostsFeed()), name="feed"),
    path("rss/", public_page(feeds.LatestPostsRssFeed()), name="rss"),
    path("feed.json", public_page(feeds.LatestPostsJsonFeed()), name="json_feed"),
    path("sitemap.xml", public_page(views.sitemap, ["p"]), name="sitemap"),
    path(
        "sitemap-<slug:section>.xml",
        public_page(views.sitemap_section, ["p"]),
        name="sitemap_section",
    ),
]
