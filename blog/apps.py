from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models import Min
        from simple_history.signals import pre_create_historical_record

        from blog import revisions
        from blog.models import Post, Series, Tag
        from core import page_cache

        pre_create_historical_record.connect(revisions.snapshot_tags, sender=Post.history.model)

        for model in (Post, Tag, Series):
            page_cache.invalidate_when_saved(model)
        # Every login saves last_login; only a change to names can show on a page.
        page_cache.invalidate_when_saved(get_user_model(), unless_only={"last_login"})
        page_cache.invalidate_when_related(Post.tags.through)
        page_cache.expire_generation_at(
            lambda: Post.objects.scheduled().aggregate(at=Min("published_at"))["at"]
        )
