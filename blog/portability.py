"""Posts in and out of the blog: what every import shares, whatever the format.

A reader (`blog.markdown_files` for Markdown files with YAML front matter, `blog.ghost_import`
for a Ghost JSON export) turns its input into entries: a name to report (a file, a Ghost post)
and a function that reads that entry into a `PostData`. `import_entries()` then stores each
entry in a transaction of its own, so a bad file leaves nothing behind, and reports one
`FileResult` per entry: created, updated, unchanged (nothing saved), skipped, or an error
naming the problem. A dry run does exactly the same inside a transaction rolled back at the end.

An input may also hold images for the posts (`blog.exported_images` reads them from a Markdown
export): `ImageEntry`s, added to the library with the keys they had before any post is stored,
so the posts' bodies show them as figures. A dry run only checks them and stores no file.
"""

import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import MaxLengthValidator
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from blog import revisions
from blog.image_processing import process_image
from blog.images import ImageRejected, add_image, max_upload_bytes
from blog.models import Image, Post, Series, Tag

# The most an upload, a zip once unpacked, or any one file may hold.
IMPORT_MAX_BYTES = 20 * 1024 * 1024
MEGABYTE = 1024 * 1024

CREATED, UPDATED, UNCHANGED, SKIPPED, ERROR = "created", "updated", "unchanged", "skipped", "error"
ADDED, ALREADY_THERE = "added", "already there"  # an image's outcomes
REVISION_REASON = "Imported"


class ImportProblem(Exception):
    """What is wrong with one entry, in a phrase the report shows as it is."""


class SkippedEntry(Exception):  # noqa: N818 (not an error: the entry is left out on purpose)
    """An entry left out on purpose (a Ghost page), with the reason."""


@dataclass(frozen=True)
class FileResult:
    name: str
    outcome: str
    message: str = ""
    image: bool = False  # an image's result, not a post's

    @property
    def failed(self):
        return self.outcome == ERROR

    def __str__(self):
        """The report's line: "hello.md: created", "about: skipped: a page, not a post"."""
        line = f"{self.name}: {self.outcome}"
        return f"{line}: {self.message}" if self.message else line


@dataclass(frozen=True)
class TagRef:
    name: str
    slug: str | None = None


@dataclass(frozen=True)
class SeriesRef:
    title: str
    slug: str
    description: str = ""


@dataclass
class PostData:
    """One post as an input describes it, before anything is looked up or stored."""

    slug: str
    title: str
    body: str
    author: object  # the user, already found by the reader
    summary: str = ""
    status: str = Post.Status.DRAFT
    published_at: datetime | None = None
    updated_at: datetime | None = None
    tags: list[TagRef] = field(default_factory=list)
    series: SeriesRef | None = None
    series_part: int | None = None


@dataclass(frozen=True)
class Entry:
    name: str
    read: Callable[[], PostData]  # raises ImportProblem or SkippedEntry


@dataclass(frozen=True)
class ImageData:
    """One image as an input describes it: the original file's bytes and its descriptions."""

    content: bytes
    name: str  # the file's name when it was uploaded
    alt_text: str = ""
    decorative: bool = False
    caption: str = ""
    credit: str = ""


@dataclass(frozen=True)
class ImageEntry:
    name: str
    key: str  # the image's key where it was exported from, kept here
    read: Callable[[], ImageData]  # raises ImportProblem or SkippedEntry


def failed_entry(name, message):
    """An entry that can only report its problem (a corrupt zip, an unreadable export)."""

    def read():
        raise ImportProblem(message)

    return Entry(name, read)


def too_large(size):
    """The message for an input over IMPORT_MAX_BYTES; callers add what was measured."""
    return f"is {size / MEGABYTE:.1f} MB; the limit is {IMPORT_MAX_BYTES // MEGABYTE} MB"


def read_file(path):
    """A file's bytes, or the problem when it is over the limit."""
    size = path.stat().st_size
    if size > IMPORT_MAX_BYTES:
        raise ImportProblem(f"the file {too_large(size)}")
    return path.read_bytes()


def unpacked(archive, member):
    """A zip member's bytes, or the problem when it cannot be unpacked or is over the limit."""
    try:
        with archive.open(member) as file:
            # Read no further than the limit, whatever size the zip claims.
            data = file.read(IMPORT_MAX_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as error:
        raise ImportProblem(f"could not be unpacked ({error})") from error
    if len(data) > IMPORT_MAX_BYTES:
        raise ImportProblem(f"the file {too_large(len(data))}")
    return data


def decoded(data):
    """An input's bytes as text (a byte-order mark dropped), or the problem."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportProblem(
            f"is not UTF-8 text (byte 0x{data[error.start]:02x} at position {error.start})"
        ) from error


def user_named(username):
    User = get_user_model()
    return User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()


def import_entries(entries, *, dry_run=False, user=None):
    """Adds the entries' images, then stores every post, each all or nothing; returns their
    results, images first. With `dry_run`, the same work is rolled back at the end (images are
    only checked, no file is stored): the results are what a real run says."""
    images = [entry for entry in entries if isinstance(entry, ImageEntry)]
    posts = [entry for entry in entries if not isinstance(entry, ImageEntry)]
    with transaction.atomic():
        results = [_import_image(entry, user, dry_run) for entry in images]
        results += [_import_entry(entry, user) for entry in posts]
        if dry_run:
            transaction.set_rollback(True)
    return results


def summary_line(results):
    """ "2 created, 1 updated, 0 unchanged, 1 skipped, 0 failed", then, when the input held
    images, "; images: 3 added, 1 already there, 0 skipped, 0 failed" """
    posts = Counter(result.outcome for result in results if not result.image)
    line = _counts(posts, (CREATED, UPDATED, UNCHANGED, SKIPPED, ERROR))
    images = Counter(result.outcome for result in results if result.image)
    if images:
        line += f"; images: {_counts(images, (ADDED, ALREADY_THERE, SKIPPED, ERROR))}"
    return line


def _counts(counts, outcomes):
    return ", ".join(
        f"{counts[outcome]} {'failed' if outcome == ERROR else outcome}" for outcome in outcomes
    )


def _import_image(entry, user, dry_run):
    """An image already in the library (by key) is left as it is, descriptions and all."""
    if Image.objects.filter(key=entry.key).exists():
        return FileResult(entry.name, ALREADY_THERE, image=True)
    try:
        data = entry.read()
        if dry_run:
            # The checks add_image() makes, without storing the files it would make.
            process_image(data.content, max_bytes=max_upload_bytes())
        else:
            with transaction.atomic():
                add_image(
                    ContentFile(data.content, name=data.name),
                    user=user,
                    alt_text=data.alt_text,
                    decorative=data.decorative,
                    caption=data.caption,
                    credit=data.credit,
                    key=entry.key,
                )
    except SkippedEntry as skipped:
        return FileResult(entry.name, SKIPPED, str(skipped), image=True)
    except (ImportProblem, ImageRejected) as problem:
        return FileResult(entry.name, ERROR, str(problem), image=True)
    except DatabaseError as error:
        message = " ".join(str(error).split())
        return FileResult(entry.name, ERROR, f"the database refused it: {message}", image=True)
    return FileResult(entry.name, ADDED, image=True)


def _import_entry(entry, user):
    try:
        with transaction.atomic():
            outcome = store(entry.read(), user=user)
    except SkippedEntry as skipped:
        return FileResult(entry.name, SKIPPED, str(skipped))
    except ImportProblem as problem:
        return FileResult(entry.name, ERROR, str(problem))
    except ValidationError as error:
        return FileResult(entry.name, ERROR, describe(error))
    except DatabaseError as error:
        # A constraint the checks above did not foresee; the message is the database's.
        message = " ".join(str(error).split())
        return FileResult(entry.name, ERROR, f"the database refused it: {message}")
    return FileResult(entry.name, outcome)


def escapes_folder(filename):
    """Whether a path read from an input would lead outside the folder it belongs in."""
    name = filename.replace("\\", "/")
    return (
        name.startswith("/")
        or re.match(r"[A-Za-z]:", name) is not None
        or ".." in PurePosixPath(name).parts
    )


def parse_moment(value, *, naive_zone=None):
    """A datetime, or an ISO 8601 string, as an aware datetime; None when it is neither. A time
    without an offset is in `naive_zone` (default: the site's time zone)."""
    moment = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None or not timezone.is_naive(moment):
        return moment
    return timezone.make_aware(moment, naive_zone)


def describe(error):
    """A ValidationError on one line: "title: Ensure this value has at most 200 characters"."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts = []
    for name, messages in error.message_dict.items():
        text = " ".join(messages)
        parts.append(text if name == NON_FIELD_ERRORS else f"{name}: {text}")
    return "; ".join(parts)


def store(data, *, user=None):
    """Creates or updates the post with `data.slug`; returns CREATED, UPDATED or UNCHANGED.
    An unchanged post is not saved at all."""
    if not data.title.strip():
        raise ImportProblem("it has no title")
    if not data.body.strip():
        raise ImportProblem("its body is empty")
    post = Post.objects.filter(slug=data.slug).first()
    created = post is None
    if created:
        post = Post(slug=data.slug)
    tags = [find_or_create_tag(ref) for ref in data.tags]
    fields = _post_fields(post, data)
    fields["series"] = find_or_create_series(data.series) if data.series else None
    if not created and _is_unchanged(post, fields, tags, data.updated_at):
        return UNCHANGED
    for name, value in fields.items():
        setattr(post, name, value)
    validate(post)
    revisions.save_without_revision(post)
    post.tags.set(tags)
    revisions.record(post, user=user, reason=REVISION_REASON, created=created)
    if data.updated_at is not None:
        # After the save: auto_now would replace the time the input gives.
        Post.objects.filter(pk=post.pk).update(updated_at=data.updated_at)
    return CREATED if created else UPDATED


def validate(instance):
    """full_clean(), plus the max_length of text fields, which it leaves to forms."""
    errors = {}
    try:
        instance.full_clean()
    except ValidationError as error:
        errors = error.message_dict
    for model_field in instance._meta.fields:
        if isinstance(model_field, models.TextField) and model_field.max_length:
            try:
                MaxLengthValidator(model_field.max_length)(getattr(instance, model_field.attname))
            except ValidationError as error:
                errors.setdefault(model_field.name, []).extend(error.messages)
    if errors:
        raise ValidationError(errors)


def _post_fields(post, data):
    published_at = data.published_at
    if published_at is None and data.status == Post.Status.PUBLISHED:
        # No time given: a post already out keeps its own; a new one goes out as it is saved.
        published_at = post.published_at
    return {
        "title": data.title,
        "summary": data.summary,
        "body": data.body,
        "status": data.status,
        "published_at": published_at,
        "author": data.author,
        "series_part": data.series_part,
    }


def _is_unchanged(post, fields, tags, updated_at):
    for name, value in fields.items():
        current = getattr(post, name)
        if name == "published_at":
            current, value = _to_the_second(current), _to_the_second(value)
        if current != value:
            return False
    if updated_at is not None and _to_the_second(post.updated_at) != _to_the_second(updated_at):
        return False
    return {tag.pk for tag in post.tags.all()} == {tag.pk for tag in tags}


def _to_the_second(moment):
    # Exported times have no microseconds; a post re-imported from its own export is unchanged.
    return moment.replace(microsecond=0) if moment is not None else None


def find_or_create_tag(ref):
    try:
        return Tag.objects.find_or_create(ref.name, ref.slug)
    except ValidationError as error:
        raise ImportProblem(f"tag “{ref.name}”: {describe(error)}") from error


def find_or_create_series(ref):
    """The series with this slug, made with the title and description when there is none."""
    series = Series.objects.filter(slug=ref.slug).first()
    if series is not None:
        return series
    series = Series(title=ref.title, slug=ref.slug, description=ref.description)
    try:
        series.full_clean()
    except ValidationError as error:
        raise ImportProblem(f"series “{ref.title}”: {describe(error)}") from error
    series.save()
    return series
