from django.contrib.auth.management import create_permissions
from django.db import migrations

# Authors upload, describe and delete (unused) images, as they write posts.
AUTHOR_PERMISSIONS = ["add_image", "change_image", "delete_image", "view_image"]


def allow_authors_images(apps, schema_editor):
    config = apps.get_app_config("blog")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Authors")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="blog", codename__in=AUTHOR_PERMISSIONS)
    )


def disallow(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Authors"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="blog", codename__in=AUTHOR_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [("blog", "0005_images")]

    operations = [migrations.RunPython(allow_authors_images, disallow)]
