"""The one way Markdown becomes HTML on this site: render, highlight, then sanitize."""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import bleach
import markdown
from django.utils.html import strip_tags

from blog import figures
from core.media import media_url

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
        "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "id", "class"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "code": ["class"],
    "div": ["class"],
    "span": ["class"],
    "pre": ["class"],
    "sup": ["id", "class"],
    "li": ["id"],
    "ol": ["start"],
    "th": ["align", "colspan", "rowspan"],
    "td": ["align", "colspan", "rowspan"],
    **{f"h{level}": ["id"] for level in range(1, 7)},
}

ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

MARKDOWN_EXTENSIONS = ["fenced_code", "tables", "footnotes", "toc", "codehilite", "sane_lists"]
MARKDOWN_EXTENSION_CONFIGS = {
    "codehilite": {"css_class": "highlight", "guess_lang": False},
    "tables": {"use_align_attribute": True},
    "toc": {
        "permalink": "#",
        "permalink_class": "heading-anchor",
        "permalink_title": "Link to this section",
    },
}

# A table of contents helps from three headings on; below that it is clutter.
TOC_MIN_HEADINGS = 3


class MarkdownTooDeep(ValueError):
    """Python-Markdown recurses once per level of lists, quotes or emphasis inside each other;
    thousands of levels exhaust Python's stack. Said to the author instead of failing."""

    def __init__(self):
        super().__init__(
            "The body nests lists, quotes or emphasis too deeply to show; take out some levels."
        )


@dataclass(frozen=True)
class RenderedPost:
    html: str
    toc_html: str  # empty when the post has fewer than TOC_MIN_HEADINGS headings
    text: str  # the words a reader sees, code included, for search
    images: list = field(default_factory=list)  # the uploaded images shown, in order
    images_missing_alt: list = field(default_factory=list)  # those with no alt text


def render_markdown(text: str) -> str:
    """Turn an author's Markdown into HTML that is safe to mark safe in a template."""
    return render_post(text).html


def render_post(text: str, find_images: Callable[[list], dict] | None = None) -> RenderedPost:
    """The body's safe HTML, its table of contents (also safe) and its plain text.
    `find_images(keys)` gives {key: image} for the uploaded images the body shows, which are
    then written as responsive images (`blog.figures`).
    Raises MarkdownTooDeep for a body nested beyond what the renderer can follow."""
    converter = markdown.Markdown(
        extensions=MARKDOWN_EXTENSIONS,
        extension_configs=MARKDOWN_EXTENSION_CONFIGS,
        output_format="html",
    )
    try:
        body_html = _sanitize(converter.convert(text))
    except RecursionError:
        raise MarkdownTooDeep from None
    toc_html = ""
    if _count_headings(converter.toc_tokens) >= TOC_MIN_HEADINGS:
        toc_html = _sanitize(converter.toc)
    text_only = _plain_text(body_html)
    images, missing_alt = [], []
    if find_images is not None:
        keys = figures.image_keys(body_html)
        images_by_key = find_images(keys) if keys else {}
        images = [images_by_key[key] for key in keys if key in images_by_key]
        missing_alt = figures.missing_alt_text(body_html, images_by_key)
        body_html = figures.with_figures(body_html, images_by_key, media_url)
    return RenderedPost(
        html=body_html,
        toc_html=toc_html,
        text=text_only,
        images=images,
        images_missing_alt=missing_alt,
    )


def _sanitize(html_text):
    return bleach.clean(
        html_text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=False,
        strip_comments=True,
    )


def _count_headings(tokens):
    return sum(1 + _count_headings(token["children"]) for token in tokens)


HEADING_ANCHOR = re.compile(r'<a class="heading-anchor"[^>]*>#</a>')
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_heading_anchors(body_html: str) -> str:
    """For places where a "#" beside each heading means nothing: emails."""
    return HEADING_ANCHOR.sub("", body_html)


def _plain_text(body_html):
    text = html.unescape(strip_tags(without_heading_anchors(body_html)))
    return " ".join(CONTROL_CHARACTERS.sub(" ", text).split())


# Whole start tags only: sanitized HTML escapes every "<" in text as &lt; and quotes every
# attribute value with ", though a value may still hold a literal ">".
LINKING_TAG = re.compile(r'<(?:a|img)\s(?:[^>"]|"[^"]*")*>')
LINK_ATTRIBUTE = re.compile(r'\b(href|src|srcset)="([^"]*)"')


def absolutize_links(body_html: str, base_url: str) -> str:
    """Sanitized HTML with relative links (and image sources) made absolute against `base_url`,
    for feeds."""

    def absolute(url):
        return urljoin(base_url, url)

    def absolute_attribute(match):
        name, value = match.groups()
        value = html.unescape(value)
        if name == "srcset":  # "url 480w, url 960w", as `blog.figures` writes it
            value = ", ".join(
                " ".join([absolute(url), *rest])
                for url, *rest in (c.split() for c in value.split(",") if c.strip())
            )
        else:
            value = absolute(value)
        return f'{name}="{html.escape(value, quote=True)}"'

    return LINKING_TAG.sub(
        lambda tag: LINK_ATTRIBUTE.sub(absolute_attribute, tag.group()), body_html
    )
