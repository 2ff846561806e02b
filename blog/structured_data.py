"""schema.org data that search engines read from a post page, as JSON-LD."""

from django.conf import settings

from blog.authors import author_url
from core.site import absolute_url


def blog_posting(post, share_image):
    url = absolute_url(post.get_absolute_url())
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.summary,
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "dateModified": post.updated_at.isoformat(),
        "author": {
            "@type": "Person",
            "name": post.author_name,
            "url": absolute_url(author_url(post.author)),
        },
        "image": {
            "@type": "ImageObject",
            "url": share_image["url"],
            "width": share_image["width"],
            "height": share_image["height"],
        },
        "publisher": {
            "@type": "Organization",
            "name": settings.SITE_NAME,
            "url": absolute_url("/"),
        },
        "keywords": [tag.name for tag in post.tags.all()],
    }
    if post.status == post.Status.PUBLISHED:
        data["datePublished"] = post.published_at.isoformat()
    if post.series:
        data["isPartOf"] = {
            "@type": "CreativeWorkSeries",
            "name": post.series.title,
            "url": absolute_url(post.series.get_absolute_url()),
        }
        data["position"] = post.series_part
    return data
