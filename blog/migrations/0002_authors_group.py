from django.contrib.auth.management import create_permissions
from django.db import migrations

AUTHORS_GROUP = "Authors"
AUTHOR_MODELS = ["post", "tag", "series"]


def create_authors_group(apps, schema_editor):
    # Permissions are normally created after all migrations run; make them now.
    blog_config = apps.get_app_config("blog")
    blog_config.models_module = True
    create_permissions(blog_config, apps=apps, verbosity=0)
    blog_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=AUTHORS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="blog", content_type__model__in=AUTHOR_MODELS
        )
    )


def remove_authors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=AUTHORS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("blog", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_authors_group, remove_authors_group)]
