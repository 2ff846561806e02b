from django.core.management.base import BaseCommand
from django.db import connections

from blog import search
from blog.models import Post


class Command(BaseCommand):
    help = "Rebuild every post's stored search vector. Safe to run at any time, and twice."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database, **options):
        if not search.uses_full_text_search(connections[database]):
            self.stdout.write(
                "This database searches the posts' text directly: nothing to rebuild."
            )
            return
        # One UPDATE: each row is rewritten from its own columns, so readers never see a gap.
        count = Post.objects.using(database).update(search_vector=search.document_vector())
        self.stdout.write(f"Rebuilt the search vectors of {count} post(s).")
