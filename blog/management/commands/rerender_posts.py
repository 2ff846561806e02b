from django.core.management import call_command
from django.core.management.base import BaseCommand

from blog.models import Post
from blog.rendering import render_post


class Command(BaseCommand):
    help = "Render every post's Markdown again, after the rendering pipeline changes."

    def handle(self, *args, **options):
        seen = changed = 0
        fields = ["body_html", "toc_html", "body_text"]
        for post in Post.objects.only("pk", "body", *fields).iterator(chunk_size=200):
            seen += 1
            rendered = render_post(post.body)
            new = {
                "body_html": rendered.html,
                "toc_html": rendered.toc_html,
                "body_text": rendered.text,
            }
            if any(getattr(post, field) != value for field, value in new.items()):
                # update(), not save(): re-rendering is not an author's edit.
                Post.objects.filter(pk=post.pk).update(**new)
                changed += 1
        self.stdout.write(f"Re-rendered {seen} post(s); {changed} changed.")
        # The plain text feeds the search vectors.
        call_command("rebuild_search", stdout=self.stdout)
