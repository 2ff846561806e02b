"""Stored posts get the HTML the renderer now writes: code blocks with title bars, highlighted
lines and line numbers, callouts, tables in their own scrolling box with alignment classes, and
code and tables reachable by keyboard. Markdown is rendered at save, so nothing else would."""

from django.db import migrations, transaction

CHUNK_SIZE = 200


def rerender_posts(apps, schema_editor):
    # The current renderer on purpose, as in 0003: stored HTML must match what save() writes.
    from blog.rendering import render_post
    from blog.search import document_vector, uses_full_text_search

    alias = schema_editor.connection.alias
    posts = apps.get_model("blog", "Post").objects.using(alias)
    images = apps.get_model("blog", "Image").objects.using(alias)
    full_text_search = uses_full_text_search(schema_editor.connection)

    def find_images(keys):
        return {image.key: image for image in images.filter(key__in=keys)}

    # By primary key, a chunk at a time, each in its own transaction: a big table is never
    # held in memory or locked whole while the site keeps serving.
    last_pk = 0
    while chunk := list(
        posts.filter(pk__gt=last_pk).order_by("pk").only("pk", "body")[:CHUNK_SIZE]
    ):
        with transaction.atomic(using=alias):
            for post in chunk:
                rendered = render_post(post.body, find_images=find_images)
                posts.filter(pk=post.pk).update(
                    body_html=rendered.html, toc_html=rendered.toc_html, body_text=rendered.text
                )
            if full_text_search:
                posts.filter(pk__in=[post.pk for post in chunk]).update(
                    search_vector=document_vector()
                )
        last_pk = chunk[-1].pk


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("blog", "0006_authors_manage_images")]

    # Going back keeps the new HTML: the old renderer's output is not needed to undo anything.
    operations = [migrations.RunPython(rerender_posts, migrations.RunPython.noop, elidable=True)]
