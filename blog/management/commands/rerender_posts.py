from django.core.management.base import BaseCommand

from blog.models import Post
from blog.rendering import render_markdown


class Command(BaseCommand):
    help = "Render every post's Markdown again, after the rendering pipeline changes."

    def handle(self, *args, **options):
        seen = changed = 0
        for post in Post.objects.only("pk", "body", "body_html").iterator(chunk_size=200):
            seen += 1
            html = render_markdown(post.body)
            if html != post.body_html:
                # update(), not save(): re-rendering is not an author's edit.
                Post.objects.filter(pk=post.pk).update(body_html=html)
                changed += 1
        self.stdout.write(f"Re-rendered {seen} post(s); {changed} changed.")
