"""Posts from a Ghost JSON export (Ghost 5's {"db": [{"meta", "data"}]}, or the older
top-level {"meta", "data"}), as entries for `blog.portability.import_entries()`.

Each Ghost post becomes a post here: its HTML turned into Markdown by markdownify (ATX
headings, fenced code keeping the language of `class="language-x"`, tables kept), its summary
the custom excerpt or the first sentences of its text, its public tags (internal "#tags" are
left out) and its author, matched to a user here by email address, then by user name against
the Ghost author's slug. Pages are skipped and reported so.
"""

import json
import re
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.utils.html import strip_tags
from django.utils.text import Truncator, slugify
from markdownify import markdownify

from blog import portability
from blog.models import Post
from blog.portability import Entry, ImportProblem, PostData, SkippedEntry, TagRef, failed_entry

PUBLISHED_STATUSES = {"published", "scheduled"}
SUMMARY_SENTENCES = 2
SUMMARY_MAX_LENGTH = Post._meta.get_field("summary").max_length
# Ghost writes its own address into links and images as this placeholder.
GHOST_URL = "__GHOST_URL__"


def entries_from_path(path, *, default_author=None):
    if path.is_dir():
        return [failed_entry(path.name, "is a folder; a Ghost import reads one .json export")]
    size = path.stat().st_size
    if size > portability.IMPORT_MAX_BYTES:
        return [failed_entry(path.name, f"the file {portability.too_large(size)}")]
    return entries_from_export(path.name, path.read_bytes(), default_author=default_author)


def entries_from_export(name, data, *, default_author=None):
    """One entry per Ghost post, in the export's order; one failed entry when the export itself
    cannot be read."""
    try:
        export = json.loads(portability.decoded(data))
    except ImportProblem as problem:
        return [failed_entry(name, str(problem))]
    except json.JSONDecodeError as error:
        message = f"is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        return [failed_entry(name, message)]
    tables = ghost_tables(export)
    if tables is None:
        return [failed_entry(name, "is not a Ghost export: it has no “data” with “posts” in it")]
    export = GhostExport(tables, default_author)
    return [Entry(export.post_name(post), export.reader(post)) for post in export.posts]


def ghost_tables(export):
    if isinstance(export, dict) and isinstance(export.get("db"), list) and export["db"]:
        export = export["db"][0]
    data = export.get("data") if isinstance(export, dict) else None
    if isinstance(data, dict) and isinstance(data.get("posts"), list):
        return data
    return None


def _rows(tables, name):
    rows = tables.get(name)
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


class GhostExport:
    """The export's tables, indexed for reading posts one at a time."""

    def __init__(self, tables, default_author):
        self.posts = _rows(tables, "posts")
        self.default_author = default_author
        self.tags = {tag.get("id"): tag for tag in _rows(tables, "tags")}
        self.users = {user.get("id"): user for user in _rows(tables, "users")}
        self.tag_ids = _by_post(_rows(tables, "posts_tags"), "tag_id")
        self.author_ids = _by_post(_rows(tables, "posts_authors"), "author_id")

    @staticmethod
    def post_name(post):
        return str(post.get("slug") or post.get("title") or f"post {post.get('id')}")

    def reader(self, post):
        return lambda: self.post_data(post)

    def post_data(self, post):
        kind = post.get("type") or "post"
        if kind != "post":
            raise SkippedEntry(f"a Ghost {kind}, not a post")
        title = _string(post, "title")
        html = _string(post, "html").replace(GHOST_URL, "")
        # "sent" posts went out by email only; they were never on the site.
        published = post.get("status") in PUBLISHED_STATUSES
        return PostData(
            slug=_string(post, "slug") or slugify(title),
            title=title,
            body=html_to_markdown(html),
            author=self.author(post),
            summary=summary_of(post, html),
            status=Post.Status.PUBLISHED if published else Post.Status.DRAFT,
            published_at=_moment(post, "published_at"),
            updated_at=_moment(post, "updated_at"),
            tags=self.post_tags(post),
        )

    def post_tags(self, post):
        tags = [self.tags.get(tag_id) for tag_id in self.tag_ids.get(post.get("id"), [])]
        return [
            TagRef(tag["name"], tag.get("slug") or None)
            for tag in tags
            if tag and isinstance(tag.get("name"), str) and not tag["name"].startswith("#")
        ]

    def author(self, post):
        author_ids = self.author_ids.get(post.get("id")) or [post.get("author_id")]
        ghost_author = self.users.get(author_ids[0])
        user = ghost_author and _local_user(ghost_author)
        if user is None:
            user = self.default_author
        if user is None:
            raise ImportProblem(_no_author_message(ghost_author))
        return user


def _by_post(links, column):
    """{post id: [linked ids]} in Ghost's sort order."""
    ordered = sorted(links, key=lambda link: link.get("sort_order") or 0)
    linked = {}
    for link in ordered:
        linked.setdefault(link.get("post_id"), []).append(link.get(column))
    return linked


def _local_user(ghost_author):
    User = get_user_model()
    email = ghost_author.get("email")
    user = User._default_manager.filter(email__iexact=email).first() if email else None
    slug = ghost_author.get("slug")
    return user or (portability.user_named(slug) if slug else None)


def _no_author_message(ghost_author):
    if ghost_author is None:
        return "it has no author in the export and no default author was given (--author)"
    name = ghost_author.get("name") or ghost_author.get("slug")
    return (
        f"its Ghost author “{name}” ({ghost_author.get('email') or 'no email'}) matches no "
        "user here by email or user name, and no default author was given (--author)"
    )


def _string(post, key):
    value = post.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ImportProblem(f"its {key} is not text")
    return value


def _moment(post, key):
    """Ghost's times: ISO 8601 ("2024-05-01T09:00:00.000Z"), or milliseconds in old exports."""
    value = post.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    # Ghost keeps its times in UTC.
    moment = portability.parse_moment(value, naive_zone=UTC)
    if moment is None:
        raise ImportProblem(f"its {key} “{value}” is not a date and time")
    return moment


def html_to_markdown(html):
    markdown = markdownify(
        html, heading_style="ATX", bullets="*-", code_language_callback=_code_language
    )
    return markdown.strip() + "\n" if markdown.strip() else ""


def _code_language(pre):
    """The x of class="language-x" on the <pre> or its <code>."""
    code = pre.find("code")
    for element in (code, pre):
        for css_class in (element.get("class") or []) if element is not None else []:
            if css_class.startswith("language-"):
                return css_class.removeprefix("language-")
    return None


def summary_of(post, html):
    """The custom excerpt, or the first sentences of the text, within the model's limit."""
    excerpt = _string(post, "custom_excerpt").strip()
    if not excerpt:
        text = " ".join((_string(post, "plaintext") or strip_tags(html)).split())
        sentences = re.split(r"(?<=[.!?])\s+", text)
        excerpt = " ".join(sentences[:SUMMARY_SENTENCES])
    return Truncator(excerpt).chars(SUMMARY_MAX_LENGTH)
