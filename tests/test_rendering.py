from django.core.management import call_command

from blog.models import Post
from blog.rendering import render_markdown


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


def test_tables_render_with_alignment_attributes_not_styles():
    html = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert "<table>" in html
    assert '<th align="left">a</th>' in html
    assert '<td align="right">2</td>' in html


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
