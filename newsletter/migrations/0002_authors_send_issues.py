from django.contrib.auth.management import create_permissions
from django.db import migrations

# Authors may send posts to subscribers and follow the progress, but never see addresses.
AUTHOR_PERMISSIONS = ["add_newsletterissue", "change_newsletterissue", "view_newsletterissue"]


def allow_authors_to_send(apps, schema_editor):
    config = apps.get_app_config("newsletter")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Authors")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="newsletter", codename__in=AUTHOR_PERMISSIONS
        )
    )


def disallow(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Authors"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="newsletter", codename__in=AUTHOR_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0001_initial"),
        ("blog", "0002_authors_group"),
    ]

    operations = [migrations.RunPython(allow_authors_to_send, disallow)]
