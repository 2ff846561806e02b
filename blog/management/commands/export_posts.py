from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from blog import exported_images
from blog.markdown_files import export_filename, export_text, exported_posts


class Command(BaseCommand):
    help = (
        "Write posts as Markdown files with YAML front matter, one DIR/<slug>.md per post, and "
        "the images they show as DIR/images/<key>.<ext>, described in DIR/images.json. "
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
            self.write(directory / export_filename(post), export_text(post).encode())
        images = exported_images.shown_in(posts)
        for name, data in exported_images.files(images):
            self.write(directory / name, data)
        exported = f"{len(posts)} post(s)"
        if images:
            exported += f" and {len(images)} image(s)"
        self.stdout.write(f"Exported {exported} to {directory}.")

    def write(self, path, data):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        self.stdout.write(str(path))
