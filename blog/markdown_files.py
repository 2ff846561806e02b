"""Posts as Markdown files: YAML front matter, then the body exactly as stored.

```
---
title: Backpressure, explained
slug: backpressure-explained
summary: Why queues don't fix overload.
status: published
published_at: '2025-01-07T09:00:00+00:00'
updated_at: '2025-01-08T10:30:00+00:00'
tags:
- Reliability
- name: LLMs
  slug: llm
series:
  title: Building a model checker
  slug: model-checker
series_part: 2
author: ada
---

The body, in Markdown.
```

`export_text()` writes one post so, `export_zip()` a zip of them with the images they show
(`blog.exported_images`); `entries_from_path()` and `entries_from_upload()` read files, folders
and zips back, images included, as entries for `blog.portability.import_entries()`.
"""

import io
import zipfile
from datetime import datetime
from functools import partial
from pathlib import PurePosixPath

import yaml
from django.utils import timezone
from django.utils.text import slugify
from frontmatter.default_handlers import YAMLHandler

from blog import exported_images, portability
from blog.models import Post
from blog.portability import (
    Entry,
    ImportProblem,
    PostData,
    SeriesRef,
    TagRef,
    escapes_folder,
    failed_entry,
)

FIELDS = (
    "title", "slug", "summary", "status", "published_at", "updated_at", "tags", "series",
    "series_part", "author",
)  # fmt: skip
SERIES_FIELDS = {"title", "slug", "description"}
TAG_FIELDS = {"name", "slug"}
YAML_FRONT_MATTER = YAMLHandler()
# Wide enough that no value is folded over lines: one line per field is easier to edit and diff.
YAML_LINE_WIDTH = 100_000


# Export


def exported_posts(slugs=None, *, posts=None):
    """What an export writes, in slug order: `posts` (default: all), or those of `slugs`."""
    posts = Post.objects.all() if posts is None else posts
    if slugs:
        posts = posts.filter(slug__in=slugs)
    return posts.select_related("author", "series").prefetch_related("tags").order_by("slug")


def export_text(post):
    # The library's own dumps() strips the body; the body is written back exactly as stored.
    metadata = YAML_FRONT_MATTER.export(front_matter(post), sort_keys=False, width=YAML_LINE_WIDTH)
    return f"---\n{metadata}\n---\n\n{post.body}"


def export_filename(post):
    return f"{post.slug}.md"


def export_zip(posts):
    """The posts' Markdown files in a zip, as bytes, with the images they show beside them."""
    posts = list(posts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for post in posts:
            archive.writestr(export_filename(post), export_text(post))
        for name, data in exported_images.files(exported_images.shown_in(posts)):
            archive.writestr(name, data)
    return buffer.getvalue()


def front_matter(post):
    fields = {
        "title": post.title,
        "slug": post.slug,
        "summary": post.summary,
        "status": Post.Status(post.status).value,
    }
    if post.published_at is not None:
        fields["published_at"] = _iso(post.published_at)
    fields["updated_at"] = _iso(post.updated_at)
    fields["tags"] = [_exported_tag(tag) for tag in post.tags.all()]
    if post.series is not None:
        fields["series"] = {"title": post.series.title, "slug": post.series.slug}
        if post.series.description:
            fields["series"]["description"] = post.series.description
    if post.series_part is not None:
        fields["series_part"] = post.series_part
    fields["author"] = post.author.get_username()
    return fields


def _iso(moment):
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def _exported_tag(tag):
    return tag.name if tag.slug == slugify(tag.name) else {"name": tag.name, "slug": tag.slug}


# Import


def entries_from_path(path, *, default_author=None):
    """A folder's *.md files (sorted) and the images its images.json describes, one .md file,
    or the same from a .zip."""
    if path.is_dir():
        files = sorted(path.glob("*.md"))
        if not files:
            return [failed_entry(path.name, "has no .md files in it")]
        posts = [_file_entry(file, default_author) for file in files]
        return exported_images.entries_in_folder(path) + posts
    if path.suffix.lower() == ".zip":
        size = path.stat().st_size
        if size > portability.IMPORT_MAX_BYTES:
            return [failed_entry(path.name, f"the file {portability.too_large(size)}")]
        return entries_from_zip(path.name, path.read_bytes(), default_author=default_author)
    return [_file_entry(path, default_author)]


def entries_from_upload(name, data, *, default_author=None):
    """An uploaded .md file or .zip of them."""
    if name.lower().endswith(".zip"):
        return entries_from_zip(name, data, default_author=default_author)
    return [Entry(name, partial(read_post, name, data, default_author=default_author))]


def _file_entry(file, default_author):
    def read():
        return read_post(file.name, portability.read_file(file), default_author=default_author)

    return Entry(file.name, read)


def entries_from_zip(name, data, *, default_author=None):
    """The zip's .md files and the images its images.json describes; the whole zip is refused
    when any member would land outside the folder it unpacks into, or when it unpacks to more
    than the limit (images included)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return [failed_entry(name, "is not a readable zip file")]
    escaping = [member.filename for member in members if escapes_folder(member.filename)]
    if escaping:
        return [
            failed_entry(
                name,
                f"refused: “{escaping[0]}” would unpack outside the import folder, so nothing "
                "in this zip was imported",
            )
        ]
    unpacked = sum(member.file_size for member in members)
    if unpacked > portability.IMPORT_MAX_BYTES:
        return [failed_entry(name, f"unpacked, it {portability.too_large(unpacked)}")]
    posts = sorted(
        (member for member in members if _is_post_file(member)), key=lambda m: m.filename
    )
    if not posts:
        return [failed_entry(name, "has no .md files in it")]
    files = {member.filename: member for member in members if _is_exported_file(member)}
    return exported_images.entries_in_zip(archive, files) + [
        Entry(member.filename, partial(_read_member, archive, member, default_author))
        for member in posts
    ]


def _is_post_file(member):
    return _is_exported_file(member) and PurePosixPath(member.filename).suffix.lower() == ".md"


def _is_exported_file(member):
    path = PurePosixPath(member.filename)
    return not member.is_dir() and not path.name.startswith(".") and path.parts[0] != "__MACOSX"


def _read_member(archive, member, default_author):
    data = portability.unpacked(archive, member)
    return read_post(member.filename, data, default_author=default_author)


def read_post(name, data, *, default_author=None):
    """One Markdown file's bytes as a PostData; the slug defaults to the file's name."""
    text = portability.decoded(data)
    fields, body = split_front_matter(text)
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        names = ", ".join(f"“{field}”" for field in unknown)
        raise ImportProblem(
            f"unknown front-matter field{'s' if len(unknown) > 1 else ''} {names}; "
            f"the known fields are {', '.join(FIELDS)}"
        )
    series = _series(fields.get("series"))
    return PostData(
        slug=_text(fields, "slug") or PurePosixPath(name).stem,
        title=_text(fields, "title"),
        body=body,
        author=_author(fields, default_author),
        summary=_text(fields, "summary"),
        status=_status(fields),
        published_at=_moment(fields, "published_at"),
        updated_at=_moment(fields, "updated_at"),
        tags=_tags(fields.get("tags")),
        series=series,
        series_part=_series_part(fields.get("series_part")),
    )


def split_front_matter(text):
    """The front matter's fields and the body. Without front matter, all of it is the body."""
    if not YAML_FRONT_MATTER.detect(text):
        return {}, text
    try:
        front, body = YAML_FRONT_MATTER.split(text)
    except ValueError:
        raise ImportProblem("its front matter has no closing “---” line") from None
    try:
        fields = YAML_FRONT_MATTER.load(front)
    except yaml.YAMLError as error:
        raise ImportProblem(f"its front matter is not valid YAML: {_yaml_problem(error)}") from None
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise ImportProblem("its front matter is not a set of “field: value” lines")
    # The split keeps one newline of the blank lines after the closing "---" line.
    return fields, body.removeprefix("\n")


def _yaml_problem(error):
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is None:
        return problem
    # The front matter starts on the file's line 1 with the rest of the "---" line.
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


def _kind(value):
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime):
        return "a date"
    return type(value).__name__


def _text(fields, name):
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ImportProblem(f"{name} must be text, not {_kind(value)}")
    return value


def _status(fields):
    status = _text(fields, "status") or Post.Status.DRAFT
    if status not in Post.Status.values:
        raise ImportProblem(f"status must be “draft” or “published”, not “{status}”")
    return status


def _moment(fields, name):
    value = fields.get(name)
    if value is None:
        return None
    moment = portability.parse_moment(value)
    if moment is None:
        raise ImportProblem(
            f"{name} “{value}” is not a date and time such as 2025-01-31T09:00:00+00:00"
        )
    return moment


def _tags(value):
    if value is None:
        return []
    if not isinstance(value, list):
        raise ImportProblem(f"tags must be a list of tag names, not {_kind(value)}")
    return [_tag(item) for item in value]


def _tag(item):
    if isinstance(item, str) and item.strip():
        return TagRef(item.strip())
    if (
        isinstance(item, dict)
        and set(item) <= TAG_FIELDS
        and isinstance(item.get("name"), str)
        and item["name"].strip()
        and isinstance(item.get("slug", ""), str)
    ):
        return TagRef(item["name"].strip(), item.get("slug") or None)
    raise ImportProblem(
        f"tags must be a list of tag names or of {{name, slug}} mappings; one is {_kind(item)}"
    )


def _series(value):
    """A series title, or a mapping of its title, slug and description."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"title": value}
    if not isinstance(value, dict):
        raise ImportProblem(f"series must be a title or a mapping, not {_kind(value)}")
    unknown = sorted(set(value) - SERIES_FIELDS)
    if unknown:
        raise ImportProblem(
            f"unknown series field “{unknown[0]}”; the known ones are title, slug, description"
        )
    title = _text(value, "title").strip()
    if not title:
        raise ImportProblem("the series has no title")
    slug = _text(value, "slug") or slugify(title)
    if not slug:
        raise ImportProblem(f"the series “{title}” needs a slug")
    return SeriesRef(title, slug, _text(value, "description"))


def _series_part(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImportProblem(f"series_part must be a whole number from 1 up, not “{value}”")
    return value


def _author(fields, default_author):
    username = _text(fields, "author")
    if not username:
        if default_author is None:
            raise ImportProblem("it names no author and no default author was given (--author)")
        return default_author
    user = portability.user_named(username)
    if user is None:
        raise ImportProblem(f"the author “{username}” is not a user of this site")
    return user
