"""The site's URLs with the posts' admin wired the way blog/admin.py is to wire it: the import
page and the export action of blog.admin_import. Used by tests/test_import_export.py until
PostAdmin has them itself; then this module and the test module's `urls` marker can go."""

from functools import partial

from django.contrib import admin
from django.urls import path

from blog.admin import PostAdmin
from blog.admin_import import export_as_markdown, import_view
from blog.models import Post
from config import urls


class WiredPostAdmin(PostAdmin):
    actions = [*PostAdmin.actions, export_as_markdown]

    def get_urls(self):
        import_page = self.admin_site.admin_view(partial(import_view, self))
        return [path("import/", import_page, name="blog_post_import"), *super().get_urls()]


site = admin.AdminSite(name="admin")
# A copy of the real site with one ModelAdmin swapped; the registry has no public reader.
for model, model_admin in admin.site._registry.items():
    site.register(model, WiredPostAdmin if model is Post else type(model_admin))

urlpatterns = [path("admin/", site.urls), *urls.urlpatterns[1:]]
handler500 = urls.handler500
