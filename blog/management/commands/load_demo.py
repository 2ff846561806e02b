import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.dateparse import parse_datetime

from blog.models import Post, Series, Tag

DEMO_CONTENT = Path(__file__).resolve().parents[2] / "demo_content.json"


class Command(BaseCommand):
    help = "Load the demo posts, tags and series. Safe to run again: existing slugs are kept."

    @transaction.atomic
    def handle(self, *args, verbosity, **options):
        content = json.loads(DEMO_CONTENT.read_text(encoding="utf-8"))
        author = self.demo_author()
        tags = {
            slug: Tag.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for slug, name in content["tags"].items()
        }
        series = {
            entry["slug"]: Series.objects.get_or_create(
                slug=entry["slug"],
                defaults={"title": entry["title"], "description": entry["description"]},
            )[0]
            for entry in content["series"]
        }
        existing = set(Post.objects.values_list("slug", flat=True))
        created = 0
        for entry in content["posts"]:
            if entry["slug"] in existing:
                continue
            published_at = parse_datetime(entry["published_at"])
            post = Post.objects.create(
                title=entry["title"],
                slug=entry["slug"],
                summary=entry["summary"],
                body=entry["body"],
                status=Post.Status.PUBLISHED,
                published_at=published_at,
                author=author,
                series=series.get(entry["series"]),
                series_part=entry["series_part"],
            )
            post.tags.set([tags[slug] for slug in entry["tags"]])
            # Demo posts were not edited after publishing; don't show them as "updated" today.
            Post.objects.filter(pk=post.pk).update(created_at=published_at, updated_at=published_at)
            created += 1
        already_there = len(content["posts"]) - created
        if verbosity >= 1:
            self.stdout.write(
                f"Demo content: {created} post(s) loaded, {already_there} already there."
            )

    def demo_author(self):
        User = get_user_model()
        superuser = User.objects.filter(is_superuser=True).order_by("pk").first()
        if superuser:
            return superuser
        author, _ = User.objects.get_or_create(
            username="demo-author", defaults={"first_name": "Demo", "last_name": "Author"}
        )
        return author
