from django.core.management import call_command
from django.core.management.base import BaseCommand

from blog.models import Post


class Command(BaseCommand):
    help = "Render every post's Markdown again, after the rendering pipeline changes."

    def handle(self, *args, **options):
        seen = changed = 0
        for post in Post.objects.only("pk", "body", "social_image", *Post.RENDERED_FIELDS).iterator(
            chunk_size=200
        ):
            seen += 1
            changed += post.render_again()
        self.stdout.write(f"Re-rendered {seen} post(s); {changed} changed.")
        # The plain text feeds the search vectors.
        call_command("rebuild_search", stdout=self.stdout)
