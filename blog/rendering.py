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
from blog.markdown_extensions import CODE_FENCE, PostExtension
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
    # A code line's number, shown by the stylesheet, so it is never selected or copied.
    "span": ["class", "data-linenos"],
    "p": ["class"],
    "pre": ["class"],
    "sup": ["id", "class"],
    "li": ["id"],
    "ol": ["start"],
    "th": ["class", "colspan", "rowspan"],
    "td": ["class", "colspan", "rowspan"],
    **{f"h{level}": ["id"] for level in range(1, 7)},
}
LINE_NUMBER = re.compile(r" *\d+ *")

ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

MARKDOWN_EXTENSIONS = [
    "pymdownx.superfences",
    "pymdownx.highlight",
    "tables",
    "footnotes",
    "toc",
    "sane_lists",
    "admonition",
    PostExtension(),
]
MARKDOWN_EXTENSION_CONFIGS = {
    "pymdownx.highlight": {
        "css_class": "highlight",
        "guess_lang": False,
        # Numbers in a data attribute that CSS shows: selecting or copying the code leaves
        # them out, and so do search and email. Pygments' table style copies them with it.
        "linenums_style": "pymdownx-inline",
    },
    "pymdownx.superfences": {"custom_fences": [CODE_FENCE]},
    # Align attributes become classes (`blog.markdown_extensions`).
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
        body_html = with_scrollable_regions(_sanitize(converter.convert(text)))
    except RecursionError:
        raise MarkdownTooDeep from None
    toc_html = ""
    if _count_headings(converter.toc_tokens) >= TOC_MIN_HEADINGS:
        toc_html = _sanitize(converter.toc)
    text_only = plain_text(body_html)
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


def _allowed_attribute(tag, name, value):
    if name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    return name != "data-linenos" or LINE_NUMBER.fullmatch(value) is not None


def _sanitize(html_text):
    return bleach.clean(
        html_text,
        tags=ALLOWED_TAGS,
        attributes=_allowed_attribute,
        protocols=ALLOWED_PROTOCOLS,
        strip=False,
        strip_comments=True,
    )


# Added after sanitizing, from the renderer's own output, so authors cannot set them. The
# sanitizer writes start tags with only allowed attributes, every value quoted with ", and every
# "<" in text escaped; a code block's title bar is text.
CODE_BLOCK = re.compile(r'(?P<bar><span class="filename">(?P<title>[^<]*)</span>)?<pre(?=[ >])')
TABLE_START = "<table>"


def with_scrollable_regions(body_html: str) -> str:
    """Sanitized HTML whose code blocks and tables, which scroll sideways when wider than the
    screen, can be reached and scrolled by keyboard and are named for screen readers (axe's
    scrollable-region-focusable). Each table gets a box of its own to scroll in.

    Code blocks are groups rather than regions, so a post with many does not fill the list of
    landmarks; tables are regions with distinct names, as landmarks need."""

    def code_block(match):
        title = html.unescape(match.group("title") or "").strip()
        label = html.escape(f"Code: {title}" if title else "Code", quote=True)
        return f'{match.group("bar") or ""}<pre tabindex="0" role="group" aria-label="{label}"'

    body_html = CODE_BLOCK.sub(code_block, body_html)
    tables = body_html.count(TABLE_START)
    if not tables:
        return body_html
    parts = body_html.split(TABLE_START)
    boxed = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        label = "Table" if tables == 1 else f"Table {number}"
        boxed.append(
            f'<div class="table-scroll" tabindex="0" role="region" aria-label="{label}">'
            f"{TABLE_START}{part}"
        )
    return "".join(boxed).replace("</table>", "</table></div>")


CODE_BLOCK_ADDED = re.compile(r'<pre tabindex="0" role="group" aria-label="[^"]*"')
TABLE_BOX_START = re.compile(
    r'<div class="table-scroll" tabindex="0" role="region" aria-label="[^"]*"><table>'
)


def without_scrollable_regions(body_html: str) -> str:
    """For emails, where code wraps and tables fit the width: no focus stops that scroll
    nothing, and no table boxes."""
    body_html = CODE_BLOCK_ADDED.sub("<pre", body_html)
    body_html = TABLE_BOX_START.sub(TABLE_START, body_html)
    return body_html.replace("</table></div>", "</table>")


def _count_headings(tokens):
    return sum(1 + _count_headings(token["children"]) for token in tokens)


HEADING_ANCHOR = re.compile(r'<a class="heading-anchor"[^>]*>#</a>')
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_heading_anchors(body_html: str) -> str:
    """For places where a "#" beside each heading means nothing: emails."""
    return HEADING_ANCHOR.sub("", body_html)


def plain_text(body_html: str) -> str:
    """The words of sanitized HTML as stored for search (`body_text`): no tags, spaces collapsed."""
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
