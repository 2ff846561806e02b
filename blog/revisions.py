"""Revisions of posts, kept by django-simple-history: one per save, the newest autosaves only.

A revision holds what an author writes (title, slug, summary, body, tags, series and part) and
how it was published (status, publish time), with who saved it, when, and why ("Autosave",
"Restored …"). Restoring one writes its words back as a new revision; how the post is published
stays as it is, since publishing is always a deliberate step of its own.
"""

import difflib
from dataclasses import dataclass

from django.utils import timezone

from blog.models import Post, Series, Tag, post_history

AUTOSAVE = "Autosave"
# Autosaves come every few seconds of typing; the rest of a post's revisions are all kept.
AUTOSAVES_KEPT = 5
# Lines of unchanged text kept around each change in a diff.
DIFF_CONTEXT_LINES = 3

COMPARED_FIELDS = (
    ("title", "Title"),
    ("slug", "Slug"),
    ("summary", "Summary"),
    ("tag_names", "Tags"),
    ("series", "Series"),
    ("series_part", "Part"),
    ("status", "Status"),
    ("published_at", "Publish time"),
)


def snapshot_tags(sender, instance, history_instance, **kwargs):
    """Fills a revision's tag names (connected to simple-history's pre-create signal)."""
    if instance.pk is not None:
        history_instance.tag_names = sorted(instance.tags.values_list("name", flat=True))


def save_without_revision(post):
    """Saves the post; the caller records the revision once the tags are saved too."""
    post.skip_history_when_saving = True
    try:
        post.save()
    finally:
        del post.skip_history_when_saving


def record(post, *, user, reason="", created=False):
    """Keeps the post as it is now as a revision; prunes old autosaves after an autosave."""
    post._history_user = user
    post._change_reason = reason or None
    post_history.create_historical_record(post, "+" if created else "~")
    if reason == AUTOSAVE:
        prune_autosaves(post)


def prune_autosaves(post):
    autosaves = post.history.filter(history_change_reason=AUTOSAVE)
    newest_first = autosaves.order_by("-history_date", "-history_id")
    old = list(newest_first.values_list("history_id", flat=True)[AUTOSAVES_KEPT:])
    post.history.filter(history_id__in=old).delete()


def revisions_of(post):
    return post.history.select_related("history_user").order_by("-history_date", "-history_id")


def restore(post, revision, *, user):
    """Brings the words of `revision` back into `post`, saved as a new revision. A slug or a
    series part that another post has taken since stays as the post has it now."""
    post.title, post.summary, post.body = revision.title, revision.summary, revision.body
    others = Post.objects.exclude(pk=post.pk)
    if not others.filter(slug=revision.slug).exists():
        post.slug = revision.slug
    series_free = revision.series_id is None or (
        Series.objects.filter(pk=revision.series_id).exists()
        and not others.filter(
            series_id=revision.series_id, series_part=revision.series_part
        ).exists()
    )
    if series_free:
        post.series_id, post.series_part = revision.series_id, revision.series_part
    save_without_revision(post)
    post.tags.set(tags_named(revision.tag_names))
    when = timezone.localtime(revision.history_date)
    record(post, user=user, reason=f"Restored the revision of {when:%Y-%m-%d %H:%M}")
    return post


def tags_named(names):
    """The tags with these names; one deleted since is made again."""
    return [Tag.objects.find_or_create(name) for name in names]


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed" or "gap"
    text: str


def _shown(record, field):
    if field == "tag_names":
        return ", ".join(record.tag_names) or "(none)"
    if field == "series":
        series = Series.objects.filter(pk=record.series_id).first()
        return str(series) if series else "(none)"
    if field == "status":
        return Post.Status(record.status).label
    value = getattr(record, field)
    if field == "published_at" and value is not None:
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}"
    return "(none)" if value in (None, "") else str(value)


def compare(revision, current):
    """What differs between a revision and the post's newest revision: the short fields
    side by side, the body as a line diff (empty when the bodies are the same)."""
    changes = []
    for field, label in COMPARED_FIELDS:
        old, new = _shown(revision, field), _shown(current, field)
        if old != new:
            changes.append(FieldChange(label, old, new))
    return changes, body_diff(revision.body, current.body)


def body_diff(old, new):
    old_lines, new_lines = old.splitlines(), new.splitlines()
    lines = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(DIFF_CONTEXT_LINES):
        if lines:
            lines.append(DiffLine("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("same", line) for line in old_lines[i1:i2])
                continue
            lines.extend(DiffLine("removed", line) for line in old_lines[i1:i2])
            lines.extend(DiffLine("added", line) for line in new_lines[j1:j2])
    return lines
