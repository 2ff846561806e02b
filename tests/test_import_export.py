"""Posts out as Markdown files and back in, from Markdown or a Ghost export, by command and in
the admin."""

import io
import json
import os
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from blog.markdown_files import export_text, export_zip, exported_posts
from blog.models import Post, Series, Tag
from tests.chromium import launched_chromium, needs_chromium

GHOST_EXPORT = Path(__file__).parent / "data" / "ghost_export.json"
MEGABYTE = 1024 * 1024


def run(command, *args):
    """The command's output lines, and the CommandError it ended with (or None)."""
    out = io.StringIO()
    try:
        call_command(command, *[str(arg) for arg in args], stdout=out)
    except CommandError as error:
        return out.getvalue().splitlines(), error
    return out.getvalue().splitlines(), None


def write_md(directory, name, front_matter, body="Some words.\n", encoding="utf-8"):
    path = directory / name
    path.write_bytes(f"---\n{front_matter}---\n\n{body}".encode(encoding))
    return path


def valid_front_matter(**overrides):
    fields = {
        "title": "Backpressure, explained",
        "summary": "Why queues don't fix overload.",
        "status": "published",
        "published_at": "'2025-01-07T09:00:00+00:00'",
        "author": "ada",
        **overrides,
    }
    return "".join(f"{key}: {value}\n" for key, value in fields.items() if value is not None)


def zip_of(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def snapshot(post):
    return {
        "title": post.title,
        "slug": post.slug,
        "summary": post.summary,
        "body": post.body,
        "body_html": post.body_html,
        "toc_html": post.toc_html,
        "status": post.status,
        "published_at": post.published_at,
        "updated_at": post.updated_at,
        "tags": sorted((tag.name, tag.slug) for tag in post.tags.all()),
        "series": post.series and (post.series.title, post.series.slug, post.series.description),
        "series_part": post.series_part,
        "author": post.author.get_username(),
    }


# Export


def test_export_writes_front_matter_in_order_then_the_body(tmp_path, make_post, series):
    llms = Tag.objects.create(name="LLMs", slug="llm")
    python = Tag.objects.create(name="Python", slug="python")
    series.description = "Checking every state."
    series.save()
    make_post(
        slug="checkers",
        title="Model checkers",
        body="## Start\n\nWords.\n",
        published_at=datetime(2025, 1, 7, 9, 0, 0, 123456, tzinfo=UTC),
        tags=[python, llms],
        series=series,
        series_part=2,
    )
    lines, error = run("export_posts", tmp_path)
    assert error is None
    assert lines == [str(tmp_path / "checkers.md"), f"Exported 1 post(s) to {tmp_path}."]
    text = (tmp_path / "checkers.md").read_text()
    front, body = text.removeprefix("---\n").split("\n---\n\n", 1)
    assert body == "## Start\n\nWords.\n"
    keys = [line.split(":")[0] for line in front.splitlines() if line[0].isalpha()]
    assert keys == [
        "title", "slug", "summary", "status", "published_at", "updated_at", "tags", "series",
        "series_part", "author",
    ]  # fmt: skip
    assert "published_at: '2025-01-07T09:00:00+00:00'" in front
    assert "tags:\n- name: LLMs\n  slug: llm\n- Python\n" in front
    assert (
        "series:\n  title: Model checking\n  slug: model-checking\n"
        "  description: Checking every state.\nseries_part: 2\nauthor: ada"
    ) in front


def test_export_of_a_draft_without_a_time_has_no_published_at(make_post):
    draft = make_post(status=Post.Status.DRAFT)
    text = export_text(draft)
    assert "status: draft" in text
    assert "published_at" not in text


def test_export_writes_only_the_given_slugs(tmp_path, make_post):
    make_post(slug="one")
    make_post(slug="two")
    make_post(slug="three")
    lines, _ = run("export_posts", tmp_path, "--slug", "one", "--slug", "three")
    assert lines[-1] == f"Exported 2 post(s) to {tmp_path}."
    assert sorted(path.name for path in tmp_path.iterdir()) == ["one.md", "three.md"]


def test_export_zip_holds_one_file_per_post(make_post):
    posts = [make_post(slug="one"), make_post(slug="two")]
    archive = zipfile.ZipFile(io.BytesIO(export_zip(posts)))
    assert archive.namelist() == ["one.md", "two.md"]
    assert archive.read("one.md").decode() == export_text(posts[0])


def test_export_zip_takes_two_queries_however_many_posts(
    make_post, tag, series, django_assert_num_queries
):
    for part in (1, 2, 3):
        make_post(tags=[tag], series=series, series_part=part)
    with django_assert_num_queries(2):  # the posts with author and series, then their tags
        export_zip(exported_posts())


# Round trip


def test_demo_posts_survive_export_and_import(tmp_path, db):
    call_command("load_demo", verbosity=0)
    before = {post.slug: snapshot(post) for post in Post.objects.all()}
    run("export_posts", tmp_path)
    Post.objects.all().delete()
    Tag.objects.all().delete()
    Series.objects.all().delete()

    lines, error = run("import_posts", tmp_path)

    assert error is None
    assert lines[:-1] == [f"{slug}.md: created" for slug in sorted(before)]
    assert {post.slug: snapshot(post) for post in Post.objects.all()} == before


def test_importing_the_same_files_again_changes_nothing(tmp_path, db):
    call_command("load_demo", verbosity=0)
    run("export_posts", tmp_path)
    revisions = Post.history.count()

    lines, error = run("import_posts", tmp_path)

    assert error is None
    slugs = sorted(Post.objects.values_list("slug", flat=True))
    assert lines[:-1] == [f"{slug}.md: unchanged" for slug in slugs]
    assert lines[-1] == f"0 created, 0 updated, {len(slugs)} unchanged, 0 skipped, 0 failed."
    assert Post.history.count() == revisions


def test_dry_run_prints_the_same_lines_and_changes_nothing(tmp_path, author, make_post):
    make_post(slug="kept", title="Old title")
    write_md(tmp_path, "kept.md", valid_front_matter(title="New title"))
    write_md(tmp_path, "new.md", valid_front_matter(tags="[Fresh]"))
    write_md(tmp_path, "broken.md", valid_front_matter(title=None))

    dry_lines, dry_error = run("import_posts", tmp_path, "--dry-run")

    assert Post.objects.get().title == "Old title"
    assert not Tag.objects.exists()
    lines, error = run("import_posts", tmp_path)
    assert (
        dry_lines[:-1]
        == lines[:-1]
        == [
            "broken.md: error: it has no title",
            "kept.md: updated",
            "new.md: created",
        ]
    )
    assert (
        dry_lines[-1]
        == "1 created, 1 updated, 0 unchanged, 0 skipped, 1 failed (dry run: nothing was saved)."
    )
    assert str(dry_error) == str(error) == "1 of 3 could not be imported."
    assert Post.objects.get(slug="kept").title == "New title"


def test_import_reads_the_md_files_of_a_zip(tmp_path, author):
    text = f"---\n{valid_front_matter()}---\n\nZipped.\n"
    path = tmp_path / "posts.zip"
    path.write_bytes(zip_of({"posts/b.md": text, "a.md": text, "notes.txt": "not a post"}))

    lines, error = run("import_posts", path)

    assert error is None
    assert lines[:-1] == ["a.md: created", "posts/b.md: created"]
    assert Post.objects.get(slug="b").body == "Zipped.\n"


def test_import_reads_one_file(tmp_path, author):
    write_md(tmp_path, "other.md", valid_front_matter())
    path = write_md(tmp_path, "hello.md", valid_front_matter(), body="# Hello\n\nWorld.\n")

    lines, _ = run("import_posts", path)

    assert lines[0] == "hello.md: created"
    post = Post.objects.get()
    assert (post.slug, post.body, post.author) == ("hello", "# Hello\n\nWorld.\n", author)
    assert "<h1" in post.body_html


def test_import_of_a_body_nested_too_deep_for_the_renderer_is_an_error(tmp_path, author):
    write_md(tmp_path, "deep.md", valid_front_matter(), body="- " * 3_000 + "deep\n")

    lines, error = run("import_posts", tmp_path)

    assert lines[0] == (
        "deep.md: error: body: The body nests lists, quotes or emphasis too deeply to show; "
        "take out some levels."
    )
    assert error is not None
    assert not Post.objects.exists()


def test_import_updates_the_post_with_the_same_slug(tmp_path, make_post):
    post = make_post(slug="kept", title="Old title")
    write_md(tmp_path, "file-name.md", valid_front_matter(slug="kept", title="New title"))

    lines, _ = run("import_posts", tmp_path)

    assert lines[0] == "file-name.md: updated"
    post.refresh_from_db()
    assert post.title == "New title"
    assert Post.objects.count() == 1


def test_import_keeps_updated_at_from_the_file(tmp_path, author):
    write_md(tmp_path, "a.md", valid_front_matter(updated_at="'2025-02-01T12:30:00+01:00'"))
    run("import_posts", tmp_path)
    post = Post.objects.get()
    assert post.updated_at == datetime(2025, 2, 1, 11, 30, tzinfo=UTC)
    assert post.published_at == datetime(2025, 1, 7, 9, 0, tzinfo=UTC)


def test_import_makes_missing_tags_and_series(tmp_path, author):
    Tag.objects.create(name="Python", slug="python")
    front = valid_front_matter(
        tags="\n- Python\n- Distributed systems\n- name: LLMs\n  slug: llm",
        series="Model checking",
        series_part=1,
    )
    write_md(tmp_path, "a.md", front)

    run("import_posts", tmp_path)

    post = Post.objects.get()
    tags = sorted((tag.name, tag.slug) for tag in post.tags.all())
    assert tags == [
        ("Distributed systems", "distributed-systems"),
        ("LLMs", "llm"),
        ("Python", "python"),
    ]
    assert (post.series.title, post.series.slug, post.series_part) == (
        "Model checking", "model-checking", 1,
    )  # fmt: skip


def test_import_gives_posts_without_an_author_the_default_one(tmp_path, author):
    write_md(tmp_path, "a.md", valid_front_matter(author=None))
    lines, error = run("import_posts", tmp_path, "--author", "ada")
    assert error is None
    assert Post.objects.get().author == author


def test_import_records_a_revision_with_the_tags(tmp_path, author):
    write_md(tmp_path, "a.md", valid_front_matter(tags="[Python]"))
    run("import_posts", tmp_path)
    revision = Post.objects.get().history.get()
    assert (revision.history_change_reason, revision.tag_names) == ("Imported", ["Python"])


# Ghost


@pytest.fixture
def ghost_authors(db):
    User = get_user_model()
    grace = User.objects.create_user("ghgrace", email="GRACE@example.com")
    alan = User.objects.create_user("alan", email="turing@elsewhere.example")
    return grace, alan


def test_ghost_import_creates_the_posts_and_skips_the_page(ghost_authors):
    lines, error = run("import_posts", GHOST_EXPORT, "--from", "ghost")

    assert error is None
    assert lines == [
        "async-python-event-loop: created",
        "notes-on-backpressure: created",
        "coming-soon-rate-limits: created",
        "about: skipped: a Ghost page, not a post",
        "3 created, 0 updated, 0 unchanged, 1 skipped, 0 failed.",
    ]
    assert not Post.objects.filter(slug="about").exists()


def test_ghost_post_becomes_markdown_with_fenced_code_and_a_table(ghost_authors):
    run("import_posts", GHOST_EXPORT)
    post = Post.objects.get(slug="async-python-event-loop")
    assert post.body.startswith("Python's `asyncio` runs many tasks on one thread.")
    assert "\n## The event loop\n" in post.body
    assert (
        "```python\nimport asyncio\n\nasync def main():\n    await asyncio.sleep(1)\n" in post.body
    )
    assert "| Operation | Time |\n| --- | --- |\n| Task switch | 2 µs |" in post.body
    assert "[asyncio documentation](https://docs.python.org/3/library/asyncio.html)" in post.body
    assert "![The event loop](/content/images/2024/05/loop.png)" in post.body
    assert "* One thread\n* Many tasks" in post.body
    assert "<table>" in post.body_html
    assert 'class="highlight' in post.body_html


def test_ghost_post_keeps_its_tags_but_not_internal_ones(ghost_authors):
    run("import_posts", GHOST_EXPORT)
    post = Post.objects.get(slug="async-python-event-loop")
    assert sorted(post.tags.values_list("name", flat=True)) == ["Concurrency", "Python"]
    assert not Tag.objects.filter(name__startswith="#").exists()


def test_ghost_post_status_times_summary_and_author(ghost_authors):
    grace, alan = ghost_authors
    run("import_posts", GHOST_EXPORT)
    post = Post.objects.get(slug="async-python-event-loop")
    assert post.status == Post.Status.PUBLISHED
    assert post.published_at == datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert post.updated_at == datetime(2024, 5, 3, 12, 30, tzinfo=UTC)
    assert post.summary == (
        "Python's asyncio runs many tasks on one thread. "
        "This post shows how the event loop decides what runs next."
    )
    assert post.author == grace  # by email
    draft = Post.objects.get(slug="notes-on-backpressure")
    assert (draft.status, draft.published_at, draft.summary) == (
        Post.Status.DRAFT, None, "A draft about queues.",
    )  # fmt: skip
    assert draft.author == alan  # by user name, the Ghost author's slug


def test_scheduled_ghost_post_is_published_later_and_not_public_yet(ghost_authors, client):
    run("import_posts", GHOST_EXPORT)
    post = Post.objects.get(slug="coming-soon-rate-limits")
    assert post.status == Post.Status.PUBLISHED
    assert post.published_at == datetime(2099, 1, 1, 9, tzinfo=UTC)
    assert not Post.objects.published().filter(pk=post.pk).exists()
    assert client.get(post.get_absolute_url()).status_code == 404


def test_ghost_author_with_no_user_here_is_an_error_naming_them(db):
    lines, error = run("import_posts", GHOST_EXPORT)
    assert lines[0] == (
        "async-python-event-loop: error: its Ghost author “Grace Hopper” (grace@example.com) "
        "matches no user here by email or user name, and no default author was given (--author)"
    )
    assert error is not None
    assert not Post.objects.exists()


def test_ghost_author_with_no_user_here_falls_back_to_the_default(author):
    lines, error = run("import_posts", GHOST_EXPORT, "--author", "ada")
    assert error is None
    assert set(Post.objects.values_list("author__username", flat=True)) == {"ada"}


def test_ghost_import_reads_the_older_top_level_shape(tmp_path, author):
    export = json.loads(GHOST_EXPORT.read_text())["db"][0]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(export))
    lines, error = run("import_posts", path, "--author", "ada")
    assert error is None
    assert Post.objects.count() == 3


def test_ghost_dry_run_prints_the_same_lines_and_changes_nothing(ghost_authors):
    dry_lines, _ = run("import_posts", GHOST_EXPORT, "--dry-run")
    assert not Post.objects.exists()
    assert not Tag.objects.exists()
    lines, _ = run("import_posts", GHOST_EXPORT)
    assert dry_lines[:-1] == lines[:-1]


def test_ghost_import_twice_reports_unchanged(ghost_authors):
    run("import_posts", GHOST_EXPORT)
    lines, _ = run("import_posts", GHOST_EXPORT)
    assert lines[:3] == [
        "async-python-event-loop: unchanged",
        "notes-on-backpressure: unchanged",
        "coming-soon-rate-limits: unchanged",
    ]


def test_file_that_is_not_json_is_refused(tmp_path, author):
    path = tmp_path / "export.json"
    path.write_text("{not json")
    lines, error = run("import_posts", path)
    assert lines[0].startswith("export.json: error: is not valid JSON: ")
    assert error is not None


def test_json_that_is_not_a_ghost_export_is_refused(tmp_path, author):
    path = tmp_path / "export.json"
    path.write_text('{"posts": []}')
    lines, _ = run("import_posts", path)
    assert lines[0] == (
        "export.json: error: is not a Ghost export: it has no “data” with “posts” in it"
    )


# Bad input: each a one-line message naming the file, and nothing stored from it


def import_one(tmp_path, front_matter, body="Some words.\n", name="bad.md", encoding="utf-8"):
    write_md(tmp_path, name, front_matter, body, encoding=encoding)
    lines, error = run("import_posts", tmp_path / name)
    assert error is not None
    assert not Post.objects.filter(slug=Path(name).stem).exists()
    return lines[0]


def test_malformed_front_matter_is_a_yaml_error(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(summary="[unclosed"))
    assert line.startswith("bad.md: error: its front matter is not valid YAML: ")
    assert line.endswith("(line 4, column 7)")  # the line after the summary's [


def test_front_matter_without_a_closing_line_is_refused(tmp_path, author):
    (tmp_path / "bad.md").write_text("---\ntitle: Open\n\nBody")
    lines, _ = run("import_posts", tmp_path / "bad.md")
    assert lines[0] == "bad.md: error: its front matter has no closing “---” line"


def test_unknown_front_matter_field_is_named_with_the_known_ones(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(colour="blue"))
    assert line == (
        "bad.md: error: unknown front-matter field “colour”; the known fields are title, slug, "
        "summary, status, published_at, updated_at, tags, series, series_part, author"
    )


def test_missing_title_is_refused(tmp_path, author):
    assert import_one(tmp_path, valid_front_matter(title=None)) == "bad.md: error: it has no title"


def test_empty_body_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(), body="\n  \n")
    assert line == "bad.md: error: its body is empty"


def test_file_without_front_matter_has_no_title(tmp_path, author):
    (tmp_path / "bad.md").write_text("Just words.\n")
    lines, _ = run("import_posts", tmp_path / "bad.md", "--author", "ada")
    assert lines[0] == "bad.md: error: it has no title"


def test_duplicate_part_against_an_existing_post_is_refused(tmp_path, make_post, series):
    make_post(series=series, series_part=1)
    line = import_one(tmp_path, valid_front_matter(series="Model checking", series_part=1))
    assert line == "bad.md: error: This series already has a part with this number."


def test_duplicate_part_within_one_import_is_refused(tmp_path, author):
    front = valid_front_matter(series="Model checking", series_part=1)
    write_md(tmp_path, "a.md", front)
    write_md(tmp_path, "b.md", front)
    lines, error = run("import_posts", tmp_path)
    assert lines[:2] == [
        "a.md: created",
        "b.md: error: This series already has a part with this number.",
    ]
    assert error is not None


def test_date_that_does_not_parse_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(published_at="next tuesday"))
    assert line == (
        "bad.md: error: published_at “next tuesday” is not a date and time such as "
        "2025-01-31T09:00:00+00:00"
    )


def test_impossible_date_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(updated_at="'2025-02-30T09:00:00+00:00'"))
    assert line.startswith("bad.md: error: updated_at “2025-02-30T09:00:00+00:00” is not a date")


def test_author_who_is_not_a_user_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(author="nobody"))
    assert line == "bad.md: error: the author “nobody” is not a user of this site"


def test_file_with_no_author_and_no_default_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(author=None))
    assert line == ("bad.md: error: it names no author and no default author was given (--author)")


def test_unknown_default_author_stops_the_command(tmp_path, author):
    write_md(tmp_path, "a.md", valid_front_matter())
    lines, error = run("import_posts", tmp_path, "--author", "nobody")
    assert str(error) == "--author: there is no user “nobody”."
    assert not Post.objects.exists()


def test_file_that_is_not_utf8_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(title="Café"), encoding="latin-1")
    assert line == "bad.md: error: is not UTF-8 text (byte 0xe9 at position 14)"


@pytest.mark.parametrize("member", ["../x.md", "/etc/x.md", "posts/../../x.md", "C:\\x.md"])
def test_zip_with_a_member_outside_the_folder_is_refused_whole(tmp_path, author, member):
    text = f"---\n{valid_front_matter()}---\n\nBody.\n"
    path = tmp_path / "posts.zip"
    path.write_bytes(zip_of({"good.md": text, member: text}))

    lines, error = run("import_posts", path)

    assert lines[:-1] == [
        f"posts.zip: error: refused: “{member}” would unpack outside the import folder, so "
        "nothing in this zip was imported"
    ]
    assert error is not None
    assert not Post.objects.exists()


def test_corrupt_zip_is_refused(tmp_path, author):
    path = tmp_path / "posts.zip"
    path.write_bytes(zip_of({"a.md": "x"})[:-30])
    lines, error = run("import_posts", path)
    assert lines[0] == "posts.zip: error: is not a readable zip file"
    assert error is not None


def test_tags_that_are_not_a_list_are_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(tags="Python"))
    assert line == "bad.md: error: tags must be a list of tag names, not str"


def test_tag_that_is_neither_a_name_nor_a_mapping_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(tags="[[nested]]"))
    assert line == (
        "bad.md: error: tags must be a list of tag names or of {name, slug} mappings; one is a list"
    )


@pytest.mark.parametrize("part", ["0", "-1", "two", "1.5", "true"])
def test_series_part_that_is_not_a_positive_whole_number_is_refused(tmp_path, author, part):
    line = import_one(tmp_path, valid_front_matter(series="Model checking", series_part=part))
    assert line.startswith("bad.md: error: series_part must be a whole number from 1 up, not ")
    assert not Series.objects.exists()


def test_series_without_a_part_number_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(series="Model checking"))
    assert line == "bad.md: error: A post in a series needs its part number."


def test_slug_that_is_not_a_slug_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(slug="'not a slug!'"), name="odd.md")
    assert line == (
        "odd.md: error: slug: Enter a valid “slug” consisting of letters, numbers, underscores "
        "or hyphens."
    )
    assert not Post.objects.exists()


def test_file_name_that_is_not_a_slug_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(), name="My post.md")
    assert line.startswith("My post.md: error: slug: Enter a valid “slug”")


def test_over_long_title_is_refused_with_the_models_message(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(title="x" * 201, tags="[Brand new]"))
    assert line == (
        "bad.md: error: title: Ensure this value has at most 200 characters (it has 201)."
    )
    assert not Tag.objects.exists()  # the file's tag went with it


def test_over_long_summary_is_refused_with_the_models_message(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(summary="x" * 501))
    assert line == (
        "bad.md: error: summary: Ensure this value has at most 500 characters (it has 501)."
    )


def test_over_long_tag_name_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(tags=f"[{'t' * 51}]"))
    assert line == (
        f"bad.md: error: tag “{'t' * 51}”: name: Ensure this value has at most 50 characters "
        "(it has 51)."
    )


def test_wrong_status_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(status="live"))
    assert line == "bad.md: error: status must be “draft” or “published”, not “live”"


def test_title_that_is_not_text_is_refused(tmp_path, author):
    line = import_one(tmp_path, valid_front_matter(title="[a, b]"))
    assert line == "bad.md: error: title must be text, not a list"


def test_file_over_the_limit_is_refused_unread(tmp_path, author):
    path = tmp_path / "big.md"
    with path.open("wb") as file:
        file.truncate(50 * MEGABYTE)  # sparse: nothing written to disk
    lines, error = run("import_posts", path)
    assert lines[0] == "big.md: error: the file is 50.0 MB; the limit is 20 MB"
    assert error is not None


def test_zip_that_unpacks_over_the_limit_is_refused(tmp_path, author):
    path = tmp_path / "big.zip"
    path.write_bytes(zip_of({"big.md": b"\0" * (50 * MEGABYTE)}))
    lines, error = run("import_posts", path)
    assert lines[0] == "big.zip: error: unpacked, it is 50.0 MB; the limit is 20 MB"


def test_folder_without_md_files_is_reported(tmp_path, author):
    (tmp_path / "notes.txt").write_text("not a post")
    lines, error = run("import_posts", tmp_path)
    assert lines[0] == f"{tmp_path.name}: error: has no .md files in it"
    assert error is not None


def test_every_file_is_reported_before_the_command_fails(tmp_path, author):
    write_md(tmp_path, "a.md", valid_front_matter(title=None))
    write_md(tmp_path, "b.md", valid_front_matter())
    write_md(tmp_path, "c.md", valid_front_matter(status="live"))
    lines, error = run("import_posts", tmp_path)
    assert [line.split(":")[:2] for line in lines[:-1]] == [
        ["a.md", " error"], ["b.md", " created"], ["c.md", " error"],
    ]  # fmt: skip
    assert str(error) == "2 of 3 could not be imported."
    assert list(Post.objects.values_list("slug", flat=True)) == ["b"]


# Admin


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def importer_client(client, django_user_model):
    user = django_user_model.objects.create_user("writer", is_staff=True)
    user.groups.add(Group.objects.get(name="Authors"))
    client.force_login(user)
    client.user = user
    return client


def markdown_upload(name="hello.md", **overrides):
    text = f"---\n{valid_front_matter(author=None, **overrides)}---\n\nHello.\n"
    return SimpleUploadedFile(name, text.encode())


def stored_uploads(media_root):
    folder = media_root / "imports"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_export_action_answers_a_zip_of_the_selected_posts(admin_client, make_post, time_machine):
    posts = [make_post(slug="one"), make_post(slug="two"), make_post(slug="three")]
    time_machine.move_to(datetime(2026, 3, 1, 14, 5, 9, tzinfo=UTC), tick=False)
    response = admin_client.post(
        reverse("admin:blog_post_changelist"),
        {"action": "export_as_markdown", "_selected_action": [posts[0].pk, posts[2].pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="posts-20260301-140509.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.namelist() == ["one.md", "three.md"]


def test_import_page_shows_the_upload_form(importer_client):
    response = importer_client.get(reverse("admin:blog_post_import"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'accept=".md,.zip,.json"' in content
    assert 'enctype="multipart/form-data"' in content
    assert "By the file&#x27;s extension" in content
    assert "<script" not in content.split('<div id="content-main">')[1]
    assert "style=" not in content.split('<div id="content-main">')[1]


def test_import_upload_shows_a_dry_run_and_keeps_the_file(importer_client, media_root):
    response = importer_client.post(reverse("admin:blog_post_import"), {"file": markdown_upload()})
    assert response.status_code == 200
    assert [str(result) for result in response.context["results"]] == ["hello.md: created"]
    content = response.content.decode()
    assert "<td>hello.md</td><td>created</td>" in content
    assert "Import these files" in content
    assert not Post.objects.exists()
    assert len(stored_uploads(media_root)) == 1


def test_import_confirm_imports_the_kept_file_and_removes_it(importer_client, media_root):
    url = reverse("admin:blog_post_import")
    token = importer_client.post(url, {"file": markdown_upload()}).context["token"]

    response = importer_client.post(url, {"token": token})

    assert response.status_code == 200
    assert [str(result) for result in response.context["results"]] == ["hello.md: created"]
    assert reverse("admin:blog_post_changelist") in response.content.decode()
    post = Post.objects.get()
    assert (post.slug, post.author) == ("hello", importer_client.user)
    assert stored_uploads(media_root) == []


def test_import_confirm_twice_imports_once(importer_client, media_root):
    url = reverse("admin:blog_post_import")
    token = importer_client.post(url, {"file": markdown_upload()}).context["token"]
    importer_client.post(url, {"token": token})
    response = importer_client.post(url, {"token": token})
    assert "This upload has expired or was already imported" in response.content.decode()


def test_import_token_of_another_user_imports_nothing(importer_client, media_root, admin_client):
    url = reverse("admin:blog_post_import")
    token = importer_client.post(url, {"file": markdown_upload()}).context["token"]
    response = admin_client.post(url, {"token": token})
    assert "This upload has expired or was already imported" in response.content.decode()
    assert not Post.objects.exists()


def test_import_token_expires_after_an_hour(importer_client, media_root, time_machine):
    time_machine.move_to(datetime(2026, 1, 1, 12, tzinfo=UTC), tick=False)
    url = reverse("admin:blog_post_import")
    token = importer_client.post(url, {"file": markdown_upload()}).context["token"]
    time_machine.move_to(datetime(2026, 1, 1, 13, 0, 1, tzinfo=UTC), tick=False)
    response = importer_client.post(url, {"token": token})
    assert "This upload has expired" in response.content.decode()
    assert not Post.objects.exists()


def test_import_upload_reports_errors_without_a_confirm_button(importer_client, media_root):
    response = importer_client.post(
        reverse("admin:blog_post_import"), {"file": markdown_upload(title=None)}
    )
    content = response.content.decode()
    assert "<td>hello.md</td><td><strong>error</strong></td><td>it has no title</td>" in content
    assert "Import these files" not in content
    assert stored_uploads(media_root) == []


def test_import_of_a_ghost_export_is_chosen_by_extension(importer_client, media_root):
    upload = SimpleUploadedFile("ghost.json", GHOST_EXPORT.read_bytes())
    response = importer_client.post(reverse("admin:blog_post_import"), {"file": upload})
    assert [str(result) for result in response.context["results"]][-1] == (
        "about: skipped: a Ghost page, not a post"
    )
    token = response.context["token"]
    importer_client.post(reverse("admin:blog_post_import"), {"token": token})
    assert Post.objects.count() == 3


def test_import_upload_removes_uploads_never_confirmed_after_an_hour(importer_client, media_root):
    url = reverse("admin:blog_post_import")
    importer_client.post(url, {"file": markdown_upload()})
    [forgotten] = stored_uploads(media_root)
    an_hour_ago = time.time() - 3601
    os.utime(media_root / "imports" / forgotten, (an_hour_ago, an_hour_ago))

    importer_client.post(url, {"file": markdown_upload()})

    uploads = stored_uploads(media_root)
    assert len(uploads) == 1
    assert forgotten not in uploads


def test_import_upload_over_the_limit_is_refused(importer_client, media_root):
    upload = SimpleUploadedFile("big.zip", b"\0" * (21 * MEGABYTE))
    response = importer_client.post(reverse("admin:blog_post_import"), {"file": upload})
    assert "big.zip is 21.0 MB; the limit is 20 MB." in response.content.decode()
    assert stored_uploads(media_root) == []


def test_import_upload_of_another_kind_of_file_is_refused(importer_client, media_root):
    upload = SimpleUploadedFile("notes.txt", b"hello")
    response = importer_client.post(reverse("admin:blog_post_import"), {"file": upload})
    assert "Choose a .md, .zip or .json file." in response.content.decode()


def test_import_page_is_forbidden_to_staff_who_may_not_add_and_change_posts(staff_client):
    assert staff_client.get(reverse("admin:blog_post_import")).status_code == 403
    response = staff_client.post(reverse("admin:blog_post_import"), {"file": markdown_upload()})
    assert response.status_code == 403


def test_import_page_sends_non_staff_to_the_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader"))
    response = client.get(reverse("admin:blog_post_import"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_import_page_works_on_a_phone_under_the_sites_csp(live_server, client, media_root):
    # A superuser: an earlier test that flushed the database may have taken the Authors group.
    user = get_user_model().objects.create_superuser("writer", "writer@example.com")
    client.force_login(user)
    upload = media_root.parent / "long-names.zip"
    text = f"---\n{valid_front_matter(author=None)}---\n\nHello.\n"
    long_name = "a-rather-long-folder-name/with-a-file-name-that-goes-on-and-on-and-on.md"
    upload.write_bytes(zip_of({long_name: text, "broken.md": "---\ntitle: [\n---\nx"}))
    with launched_chromium() as browser:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
        )
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        refused = []
        page.on("console", lambda message: refused.append(message.text))
        page.goto(reverse("admin:blog_post_import"))
        page.locator("input[type=file]").set_input_files(upload)
        page.get_by_role("button", name="Check the file").click()
        assert page.get_by_role("cell", name="created").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.get_by_role("button", name="Import these files").click()
        assert page.get_by_role("link", name="Back to the posts").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        context.close()
    assert not [text for text in refused if "Content Security Policy" in text]
    assert Post.objects.filter(slug="with-a-file-name-that-goes-on-and-on-and-on").exists()
