import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from bench import search as bench_search
from blog.models import Post
from blog.search import MAX_QUERY_LENGTH

ROBOTS_META = '<meta name="robots" content="noindex, follow">'


@pytest.fixture
def postgres_only(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL full-text search")


@pytest.fixture
def sqlite_only(db):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL uses full-text search instead of the substring fallback")


def search(client, query, **params):
    return client.get("/search/", {"q": query, **params})


def result_titles(response):
    content = response.content.decode()
    return re.findall(r'class="search-result__title"><a href="[^"]*">([^<]*)</a>', content)


def snippets(response):
    content = response.content.decode()
    return re.findall(r'<p class="search-result__snippet">(.*?)</p>', content, re.DOTALL)


def test_title_match_ranks_above_summary_which_ranks_above_body(client, make_post):
    # Made newest first, so ordering by date alone would give the reverse.
    make_post(title="Harbour notes", body="The old lighthouse stood on the rocks.")
    make_post(title="Coast notes", summary="A visit to a lighthouse.")
    make_post(title="Lighthouse keeping")
    response = search(client, "lighthouse")
    assert result_titles(response) == ["Lighthouse keeping", "Coast notes", "Harbour notes"]


@pytest.mark.parametrize("field", ["title", "summary", "body"])
def test_finds_a_word_in_any_field_whatever_its_case(client, make_post, field):
    found = make_post(**{field: "All about Zeppelins and airships"})
    make_post()
    assert result_titles(search(client, "zEPPELINS")) == [found.title]


@pytest.mark.xfail(
    "connection.vendor == 'sqlite'",
    strict=True,
    reason="SQLite's LIKE folds the case of ASCII letters only",
)
def test_finds_a_non_ascii_word_whatever_its_case(client, make_post):
    make_post(title="Baking éclairs")
    assert result_titles(search(client, "ÉCLAIRS")) == ["Baking éclairs"]


def test_quoted_phrase_matches_only_adjacent_words(client, make_post):
    make_post(title="Adjacent", body="A crimson falcon circled the tower.")
    make_post(title="Apart", body="Crimson wings on a distant falcon.")
    assert result_titles(search(client, '"crimson falcon"')) == ["Adjacent"]


def test_excluded_word_drops_posts_containing_it(client, make_post):
    make_post(title="Meadow", body="A kestrel hovering over the meadow.")
    make_post(title="Tower", body="A kestrel nesting in the church tower.")
    assert result_titles(search(client, "kestrel -tower")) == ["Meadow"]


def test_or_finds_posts_with_either_word(client, make_post):
    make_post(title="Walrus")
    make_post(title="Narwhal")
    make_post(title="Seal")
    assert sorted(result_titles(search(client, "walrus or narwhal"))) == ["Narwhal", "Walrus"]


def test_every_word_must_appear_without_or(client, make_post):
    make_post(title="Walrus")
    make_post(title="Walrus and narwhal")
    assert result_titles(search(client, "walrus narwhal")) == ["Walrus and narwhal"]


@pytest.mark.parametrize(
    ("query", "body"),
    [
        (
            "compare_exchange",
            "Spin until it wins.\n\n```rust\nself.state.compare_exchange(a, b)\n```\n",
        ),
        (
            "asyncio.to_thread",
            "Offload blocking work.\n\n```python\nawait asyncio.to_thread(read_file)\n```\n",
        ),
    ],
)
def test_finds_code_identifiers_inside_fenced_code_blocks(client, make_post, query, body):
    make_post(title="Code post", body=body)
    make_post(title="Prose post", body="Compare and exchange ideas; thread the needle.")
    response = search(client, query)
    assert result_titles(response) == ["Code post"]
    assert "\u200b" not in response.content.decode()


def test_snippet_marks_the_matched_word(client, make_post):
    make_post(summary="Notes from a season as a lighthouse keeper.")
    [snippet] = snippets(search(client, "keeper"))
    assert "<mark>keeper</mark>" in snippet


def test_snippet_never_carries_html_from_the_body(client, make_post):
    make_post(body="Never do this:\n\n```html\n<script>alert(1)</script>\n```\n")
    response = search(client, "never")
    [snippet] = snippets(response)
    assert "<mark>Never</mark>" in snippet
    assert "<script" not in snippet
    assert "<script>alert" not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "body", "shown"),
    [
        (
            "alert",
            "Never do this:\n\n```html\n<script>alert(1)</script>\n```\n",
            # A PostgreSQL headline ends on a word, so the closing ">" may fall outside it.
            "&lt;script&gt;<mark>alert</mark>(1)&lt;/script",
        ),
        (
            "integer",
            "A typed list:\n\n```java\nList<Integer> items = new ArrayList<>();\n```\n",
            "List&lt;<mark>Integer</mark>&gt;",
        ),
    ],
    ids=["script-element", "generic-type"],
)
def test_code_in_angle_brackets_is_found_and_shown_escaped(client, make_post, query, body, shown):
    make_post(body=body)
    [snippet] = snippets(search(client, query))
    assert shown in snippet


CODE_BODY = """Spin until it wins.

```python
import os
state = load()
while not quokka.swap(a, b):
    pass
print(done)
```

That is all there is to it.
"""


def test_snippet_quotes_a_matching_code_line_apart_from_the_prose(client, make_post):
    make_post(summary="Locks.", body=CODE_BODY)
    [snippet] = snippets(search(client, "quokka"))
    assert "<code>while not <mark>quokka</mark>.swap(a, b):</code>" in snippet
    for other_line in ["import os", "state = load()", "pass", "print(done)"]:
        assert other_line not in snippet


def test_snippet_leaves_out_code_without_a_match(client, make_post):
    body = "Quokka facts first.\n\n```\nx = compute(1)\ny = compute(2)\n```\n\nMore on quokka."
    make_post(summary="Animals.", body=body)
    [snippet] = snippets(search(client, "quokka"))
    assert "<mark>Quokka</mark> facts first." in snippet
    assert "compute" not in snippet
    assert "<code>" not in snippet
    assert "…" in snippet


def test_snippet_cuts_a_long_code_line_around_its_match(client, make_post):
    line = (
        " ".join(f"word{n}" for n in range(40))
        + " quokka "
        + " ".join(f"tail{n}" for n in range(40))
    )
    make_post(summary="Long lines.", body=f"Some prose.\n\n```\n{line}\n```\n")
    [snippet] = snippets(search(client, "quokka"))
    [code] = re.findall(r"<code>(.*?)</code>", snippet)
    assert "<mark>quokka</mark>" in code
    assert "word0 " not in code
    assert "tail39" not in code
    assert len(re.sub(r"<[^>]+>", "", code)) <= 100


def test_snippet_of_code_is_escaped(client, make_post):
    make_post(body='Markup:\n\n```html\n<b onclick="x()">quokka</b>\n```\n')
    [snippet] = snippets(search(client, "quokka"))
    assert "<b " not in snippet
    assert "&lt;b onclick=&quot;x()&quot;&gt;<mark>quokka</mark>&lt;/b" in snippet


def test_snippet_marks_a_match_inside_a_long_unbroken_word(client, make_post):
    make_post(summary="Links.", body="See " + "a" * 70 + "-quasar for details about it.")
    [snippet] = snippets(search(client, "quasar"))
    assert "<mark>quasar</mark>" in snippet


def test_drafts_and_scheduled_posts_never_appear(staff_client, make_post):
    make_post(title="Public ocelot")
    make_post(title="Draft ocelot", status=Post.Status.DRAFT)
    make_post(title="Scheduled ocelot", published_at=timezone.now() + timedelta(days=1))
    assert result_titles(search(staff_client, "ocelot")) == ["Public ocelot"]


def test_search_follows_an_edited_title(client, make_post):
    post = make_post(title="Aardvark habits")
    post.title = "Pangolin habits"
    post.save()
    assert result_titles(search(client, "pangolin")) == ["Pangolin habits"]
    assert result_titles(search(client, "aardvark")) == []


@pytest.mark.postgres
def test_rebuild_search_restores_nulled_vectors_and_can_run_twice(postgres_only, client, make_post):
    make_post(title="Capybara diaries")
    make_post(title="Draft capybara", status=Post.Status.DRAFT)
    Post.objects.update(search_vector=None)
    assert result_titles(search(client, "capybara")) == []
    for _ in range(2):
        out = StringIO()
        call_command("rebuild_search", stdout=out)
        assert "Rebuilt the search vectors of 2 post(s)." in out.getvalue()
        assert result_titles(search(client, "capybara")) == ["Capybara diaries"]


def test_rebuild_search_on_sqlite_has_nothing_to_rebuild(sqlite_only):
    out = StringIO()
    call_command("rebuild_search", stdout=out)
    assert "nothing to rebuild" in out.getvalue()


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}], ids=["no-q", "empty", "spaces"])
def test_empty_query_shows_the_form_and_no_results(client, make_post, params):
    make_post()
    response = client.get("/search/", params)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="search-form"' in content
    assert 'name="q"' in content
    assert "search-results" not in content
    assert "No posts match" not in content


def test_overlong_query_is_cut_to_the_maximum_length(client, make_post):
    make_post()
    response = search(client, "x" * 1000)
    content = response.content.decode()
    assert response.status_code == 200
    assert f'value="{"x" * MAX_QUERY_LENGTH}"' in content
    assert "x" * (MAX_QUERY_LENGTH + 1) not in content


def test_overlong_query_of_many_words_is_answered(client, make_post):
    make_post(title="Lighthouse")
    assert search(client, "lighthouse " * 91).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "🦀 rust",
        "\u202eevil",
        "e\u0301\u0301\u0301\u0301",
        "\x00",
        "a\x00b",
        '"',
        '""',
        '-"',
        "-",
        "--",
        "or",
        "or or -",
        "&|!<->",
        "'",
        "'; DROP TABLE blog_post; --",
        ":*",
        "\\",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ],
)
def test_odd_queries_are_answered(client, make_post, query):
    make_post(title="Rust 🦀 and évil ' quotes", body="Some & | ! <-> symbols.")
    assert search(client, query).status_code == 200


@pytest.fixture
def twelve_quokka_posts(make_post):
    return [make_post(title=f"Quokka facts {n}") for n in range(12)]


def test_results_come_ten_a_page_with_the_query_kept_in_page_links(client, twelve_quokka_posts):
    first = search(client, "quokka facts")
    second = search(client, "quokka facts", page=2)
    assert len(result_titles(first)) == 10
    assert len(result_titles(second)) == 2
    assert sorted(result_titles(first) + result_titles(second)) == sorted(
        post.title for post in twelve_quokka_posts
    )
    assert 'href="?q=quokka%20facts&amp;page=2"' in first.content.decode()
    assert 'href="?q=quokka%20facts&amp;page=1"' in second.content.decode()


def test_page_past_the_last_is_not_found(client, twelve_quokka_posts):
    assert search(client, "quokka", page=99).status_code == 404


def test_query_is_shown_back_escaped(client, make_post):
    make_post()
    content = search(client, "<b>x</b>").content.decode()
    assert "<b>x</b>" not in content
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in content


@pytest.mark.parametrize("query", ["", "anything"])
def test_search_page_asks_not_to_be_indexed(client, db, query):
    assert ROBOTS_META in search(client, query).content.decode()


def test_header_search_form_on_home_page_goes_to_search(client, make_post):
    make_post()
    content = client.get("/").content.decode()
    [form] = re.findall(r'<form class="site-search".*?</form>', content, re.DOTALL)
    assert 'action="/search/"' in form
    assert 'method="get"' in form
    assert 'name="q"' in form


def test_search_benchmark_prints_figures_and_leaves_nothing_behind(make_post):
    make_post(title="Atomics", body="```rust\nself.state.compare_exchange(a, b)\n```")
    output = StringIO()
    call_command(bench_search.Command(), posts=30, repeat=1, stdout=output)
    assert "30 published posts" in output.getvalue()
    assert "compare_exchange" in output.getvalue()
    assert Post.objects.count() == 1


def test_searches_past_the_limit_get_a_polite_429(client, make_post, settings):
    settings.SEARCHES_PER_IP_PER_MINUTE = 3
    make_post(title="Backpressure")
    for _ in range(3):
        assert search(client, "backpressure").status_code == 200
    response = search(client, "backpressure")
    assert response.status_code == 429
    assert "Too many searches" in response.content.decode()
    other_reader = client.get("/search/", {"q": "backpressure"}, REMOTE_ADDR="192.0.2.7")
    assert other_reader.status_code == 200


def test_an_empty_search_does_not_count_against_the_limit(client, db, settings):
    settings.SEARCHES_PER_IP_PER_MINUTE = 1
    for _ in range(3):
        assert client.get("/search/").status_code == 200
    assert search(client, "anything").status_code == 200


ODD_QUERIES = [
    "-" * 33,
    "-" * 200,
    "- " * 100,
    "--queue",
    '"' * 51,
    '"unclosed phrase',
    "or " * 60,
    "queue or or or",
    "!!! ((( ))) &&& |||",
    "a & b | !c <-> d:*",
    "'; DROP TABLE blog_post; --",
    "\\",
    "\x00queue\x00",
    "🦀 rust",
    "x-" * 100,
    "-queue -queue -queue " * 10,
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_any_query_gets_a_normal_page(client, make_post, query):
    make_post(title="Queue internals", body="How a queue applies backpressure.")
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert "Search" in response.content.decode()


def test_a_run_of_hyphens_finds_nothing_rather_than_failing(client, make_post):
    make_post(title="Queue internals")
    response = client.get("/search/", {"q": "-" * 33})
    assert response.status_code == 200
    assert "No posts match" in response.content.decode()


def test_doubled_hyphens_still_exclude_the_word(client, make_post):
    make_post(title="Queue internals", slug="queues")
    make_post(title="Queue with rust", slug="rusty", body="rust everywhere")
    response = client.get("/search/", {"q": "queue --rust"})
    assert [post.slug for post in response.context["results"]] == ["queues"]
