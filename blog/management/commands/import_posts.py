from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from blog import ghost_import, markdown_files
from blog.portability import import_entries, summary_line, user_named


class Command(BaseCommand):
    help = (
        "Create or update posts (by slug) from Markdown files with YAML front matter (a folder, "
        "one .md file or a .zip) or from a Ghost JSON export. The images an export holds "
        "(images.json) are added to the library first, keeping their keys; images already there "
        "are left as they are. Each file is stored whole or not at all; running it again reports "
        "the posts as unchanged and the images as already there."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A folder of .md files, one .md file, a .zip or a .json.")
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Do everything and report it, then roll it all back.",
        )  # fmt: skip
        parser.add_argument(
            "--from", dest="source_format", choices=["markdown", "ghost"],
            help="The input's format. Default: ghost for a .json file, markdown otherwise.",
        )  # fmt: skip
        parser.add_argument(
            "--author", metavar="USERNAME",
            help="The author of posts whose input names none (or, from Ghost, none of ours).",
        )  # fmt: skip

    def handle(self, *args, path, dry_run, source_format, author, **options):
        default_author = None
        if author:
            default_author = user_named(author)
            if default_author is None:
                raise CommandError(f"--author: there is no user “{author}”.")
        path = Path(path)
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        if source_format is None:
            source_format = "ghost" if path.suffix.lower() == ".json" else "markdown"
        reader = ghost_import if source_format == "ghost" else markdown_files
        entries = reader.entries_from_path(path, default_author=default_author)
        results = import_entries(entries, dry_run=dry_run)
        for result in results:
            self.stdout.write(str(result), self.style.ERROR if result.failed else None)
        line = summary_line(results)
        self.stdout.write(f"{line} (dry run: nothing was saved)." if dry_run else f"{line}.")
        failed = sum(result.failed for result in results)
        if failed:
            raise CommandError(f"{failed} of {len(results)} could not be imported.")
