import importlib
import re
from html import unescape
from types import SimpleNamespace

from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils.html import strip_tags

from blog.models import Post
from blog.rendering import render_markdown, render_post, without_scrollable_regions
from newsletter.emails import inline_styled

QUEUE_PY = """\
```python title="queue.py" hl_lines="3 5-7" linenums="1"
import queue

jobs = queue.Queue(maxsize=100)

def submit(job):
    # Full: say so now rather than wait.
    jobs.put_nowait(job)

def worker():
    while True:
        jobs.get()()
```
"""


def test_fenced_code_is_highlighted_with_css_classes():
    html = render_markdown("```python\ndef answer():\n    return 42\n```")
    assert '<div class="highlight">' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="mi">42</span>' in html
    assert "style=" not in html


def test_code_without_language_is_not_guessed():
    html = render_markdown("```\nplain text here\n```")
    assert "plain text here" in html
    assert '<span class="k">' not in html


def test_code_keeps_indentation():
    html = render_markdown("```python\nif ready:\n        go()\n```")
    assert '\n        <span class="n">go</span>' in html


def test_code_block_has_its_title_bar():
    html = render_markdown(QUEUE_PY)
    assert '<div class="highlight"><span class="filename">queue.py</span><pre' in html


def test_code_block_highlights_the_lines_asked_for():
    html = render_markdown(QUEUE_PY)
    lines = html.split("<code>", 1)[1].split("\n")
    highlighted = [number for number, line in enumerate(lines, 1) if '<span class="hll">' in line]
    assert highlighted == [3, 5, 6, 7]


def test_line_numbers_are_attributes_the_stylesheet_shows_not_text():
    rendered = render_post(QUEUE_PY)
    numbers = re.findall(r'<span class="linenos" data-linenos="([^"]*)"></span>', rendered.html)
    assert [number.strip() for number in numbers] == [str(n) for n in range(1, 12)]
    # Search, and anything else reading the text, sees the code alone.
    assert "import queue jobs = queue.Queue(maxsize=100) def submit(job):" in rendered.text


def test_line_numbers_start_where_the_author_says():
    html = render_markdown('```python linenums="41"\na = 1\nb = 2\n```')
    numbers = re.findall(r'data-linenos="([^"]*)"', html)
    assert [number.strip() for number in numbers] == ["41", "42"]


def test_code_without_options_has_no_title_numbers_or_highlighted_lines():
    html = render_markdown("```python\nx = 1\n```")
    assert "filename" not in html and "linenos" not in html and "hll" not in html


def test_diff_lines_are_marked_added_and_removed():
    html = render_markdown("```diff\n-    return None\n+    return 0\n     pass\n```")
    assert '<span class="gd">-    return None</span>' in html
    assert '<span class="gi">+    return 0</span>' in html


def test_indented_code_is_highlighted_as_plain_text():
    html = render_markdown("Text.\n\n    plain <b>code</b>\n")
    assert '<div class="highlight">' in html
    assert "plain &lt;b&gt;code&lt;/b&gt;" in html


def test_every_code_block_can_be_focused_and_is_named_for_screen_readers():
    html = render_markdown(QUEUE_PY + "\n```\nplain\n```\n\n    indented\n")
    assert re.findall(r"<pre[^>]*>", html) == [
        '<pre tabindex="0" role="group" aria-label="Code: queue.py">',
        '<pre tabindex="0" role="group" aria-label="Code">',
        '<pre tabindex="0" role="group" aria-label="Code">',
    ]


def test_tables_scroll_in_a_box_of_their_own_that_keyboards_reach():
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |")
    assert html.startswith(
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Table"><table>'
    )
    assert html.endswith("</table></div>")


def test_several_tables_have_distinct_names():
    table = "| a |\n|---|\n| 1 |\n\n"
    html = render_markdown(table * 3)
    assert re.findall(r'aria-label="([^"]*)"', html) == ["Table 1", "Table 2", "Table 3"]


def test_table_alignment_is_classes_not_obsolete_attributes():
    html = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert "align=" not in html
    assert '<th class="align-left">a</th>' in html
    assert '<th class="align-center">b</th>' in html
    assert '<td class="align-right">3</td>' in html


def test_unaligned_table_cells_have_no_class():
    html = render_markdown("| a |\n|---|\n| 1 |")
    assert "<th>a</th>" in html and "<td>1</td>" in html


def test_callouts_of_each_kind_have_their_title():
    html = render_markdown(
        '!!! note\n    Read this.\n\n!!! tip "Faster"\n    Try this.\n\n!!! warning\n    Mind this.'
    )
    assert re.findall(
        r'<div class="(admonition [a-z]+)">\n<p class="admonition-title">([^<]*)<', html
    ) == [
        ("admonition note", "Note"),
        ("admonition tip", "Faster"),
        ("admonition warning", "Warning"),
    ]
    assert "<p>Read this.</p>" in html


def test_other_callout_names_become_the_nearest_kind_the_site_styles():
    html = render_markdown("!!! danger\n    Boom.\n\n!!! hint\n    Psst.\n\n!!! custom\n    Hm.")
    assert re.findall(
        r'<div class="admonition ([a-z]+)">\n<p class="admonition-title">([^<]*)<', html
    ) == [
        ("warning", "Danger"),
        ("tip", "Hint"),
        ("note", "Custom"),
    ]


def test_callout_keeps_a_title_when_asked_for_none():
    html = render_markdown('!!! warning ""\n    Mind this.')
    assert '<p class="admonition-title">Warning</p>' in html


def test_callout_holds_markdown_and_code():
    html = render_markdown('!!! tip "Try it"\n    Use *this*:\n\n    ```python\n    x = 1\n    ```')
    assert "<em>this</em>" in html
    assert '<div class="highlight"><pre tabindex="0"' in html


def test_email_shows_title_bars_callouts_and_diffs_without_line_numbers():
    html = inline_styled(
        render_markdown(QUEUE_PY + '\n```diff\n-a\n+b\n```\n\n!!! warning "Careful"\n    Body.')
    )
    assert re.search(r'<span style="[^"]*display: block[^"]*">queue.py</span>', html)
    assert re.search(r'<span style="[^"]*background: rgba\(255, 200, 0[^"]*"><span', html)
    assert re.search(r'<span style="[^"]*background: rgba\(46, 160, 67[^"]*">\+b</span>', html)
    assert re.search(r'<div style="[^"]*border-left: 4px solid #bf8700[^"]*">\s*<p', html)
    # The numbers are only attributes, which mail clients do not show.
    text = unescape(strip_tags(html))
    assert "queue.pyimport queue\n\njobs = queue.Queue(maxsize=100)\n" in text


def test_footnotes_link_both_ways():
    html = render_markdown("Claim.[^src]\n\n[^src]: The source.")
    assert 'href="#fn:src"' in html
    assert 'id="fn:src"' in html
    assert 'href="#fnref:src"' in html


def test_headings_get_ids():
    html = render_markdown("## Memory ordering\n\n### Acquire and release")
    assert '<h2 id="memory-ordering">Memory ordering<a class="heading-anchor"' in html
    assert '<h3 id="acquire-and-release">Acquire and release<a class="heading-anchor"' in html


def test_lists_quotes_and_inline_code_survive():
    html = render_markdown("- one\n- two\n\n> quoted\n\nUse `fetch_add`.")
    assert "<ul>" in html
    assert "<blockquote>" in html
    assert "<code>fetch_add</code>" in html


def test_body_is_rendered_once_at_save(make_post):
    post = make_post(body="# Title\n\nSome *emphasis*.")
    assert "<em>emphasis</em>" in Post.objects.get(pk=post.pk).body_html


def test_rerender_posts_refreshes_stored_html_without_touching_updated_at(make_post):
    post = make_post(body="Some *emphasis*.")
    Post.objects.filter(pk=post.pk).update(body_html="stale")
    before = Post.objects.get(pk=post.pk).updated_at

    call_command("rerender_posts")

    post.refresh_from_db()
    assert "<em>emphasis</em>" in post.body_html
    assert post.updated_at == before


def test_email_html_can_drop_the_keyboard_scrolling_the_site_adds():
    table = "| a |\n|---|\n| 1 |\n\n"
    body = f"<div><table><tr><td>x</td></tr></table></div>\n\n{table}" + QUEUE_PY
    html = without_scrollable_regions(render_markdown(body))
    assert "tabindex" not in html and "table-scroll" not in html and "aria-label" not in html
    assert html.count("<table>") == html.count("</table>") == 2
    assert html.count("<div") == html.count("</div>")
    assert '<span class="filename">queue.py</span><pre><span></span><code>' in html


def test_migration_gives_stored_posts_the_new_html(make_post):
    post = make_post(body="| a |\n|--:|\n| 1 |\n\n" + QUEUE_PY)
    Post.objects.filter(pk=post.pk).update(body_html='<table><td align="right">', body_text="")
    migration = importlib.import_module("blog.migrations.0007_rerender_code_blocks_callouts_tables")

    migration.rerender_posts(apps, SimpleNamespace(connection=connection))

    post.refresh_from_db()
    assert post.body_html == render_markdown(post.body)
    assert "import queue" in post.body_text


def test_migration_works_through_posts_in_chunks(make_post, monkeypatch):
    posts = [make_post(body=f"Post *{number}*.") for number in range(5)]
    Post.objects.update(body_html="stale")
    migration = importlib.import_module("blog.migrations.0007_rerender_code_blocks_callouts_tables")
    monkeypatch.setattr(migration, "CHUNK_SIZE", 2)

    migration.rerender_posts(apps, SimpleNamespace(connection=connection))

    assert [Post.objects.get(pk=post.pk).body_html for post in posts] == [
        f"<p>Post <em>{number}</em>.</p>" for number in range(5)
    ]
