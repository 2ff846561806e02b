from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self):
        from core import page_cache

        page_cache.connect_migrate_signal()
