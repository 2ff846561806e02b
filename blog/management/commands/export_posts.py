from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from blog.markdown_files import export_filename, export_text, exported_posts


class Command(BaseCommand):
    help = (
        "Write posts as Markdown files with YAML front matter, one DIR/<slug>.md per post. "
        "Safe to run again: the files are written anew."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="Where to write the files (made if missing).")
        parser.add_argument(
            "--slug", action="append", dest="slugs", metavar="SLUG",
            help="Export only this post; repeat for more. Default: every post.",
        )  # fmt: skip

    def handle(self, *args, directory, slugs, **options):
        posts = list(exported_posts(slugs))
        missing = sorted(set(slugs or []) - {post.slug for post in posts})
        if missing:
            raise CommandError(f"No post with the slug {', '.join(missing)}.")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for post in posts:
            path = directory / export_filename(post)
            path.write_text(export_text(post), encoding="utf-8")
            self.stdout.write(str(path))
        self.stdout.write(f"Exported {len(posts)} post(s) to {directory}.")
