from django.core.management import call_command
from django.core.management.base import BaseCommand

from blog.models import Post


class Command(BaseCommand):
    help = "Render every post's Markdown again, after the rendering pipeline changes."

    def handle(self, *args, **options):
        seen = changed = 0
        fields = Post.RENDERED_FIELDS
        for post in Post.objects.only("pk", "body", *fields).iterator(chunk_size=200):
            seen += 1
            before = [getattr(post, field) for field in fields]
            post.render()
            if [getattr(post, field) for field in fields] != before:
                # update(), not save(): re-rendering is not an author's edit.
                Post.objects.filter(pk=post.pk).update(
                    **{field: getattr(post, field) for field in fields}
                )
                changed += 1
        self.stdout.write(f"Re-rendered {seen} post(s); {changed} changed.")
        # The plain text feeds the search vectors.
        call_command("rebuild_search", stdout=self.stdout)
