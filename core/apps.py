from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self):
        from core import mail, page_cache  # noqa: F401  (mail registers its check)

        page_cache.connect_migrate_signal()
