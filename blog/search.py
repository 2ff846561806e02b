"""Finding posts: full-text search on PostgreSQL, a simpler substring search elsewhere."""

import re
from functools import reduce
from operator import add, and_, or_

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db.models import Case, F, Func, Q, TextField, Value, When
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import mark_safe

MAX_QUERY_LENGTH = 200
MAX_FALLBACK_TERMS = 8
CONFIG = "english"

# PostgreSQL's parser reads "self.compare_exchange" as a host name "self.compare", and drops
# "<Integer>" or "<script>…</script>" as markup, which hides code. A zero-width space after such
# a dot or "<" breaks them up the same way in documents and queries; snippets drop it again.
CODE_BREAKS = r"(?<=\w)\.(?=\w)|<"
ZERO_WIDTH_SPACE = "\u200b"

MARK_START, MARK_END = "\x02", "\x03"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]+")


def uses_full_text_search(connection):
    return connection.vendor == "postgresql"


def clean_query(raw):
    """What the reader typed, made safe to search with: no control characters, bounded length."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", raw).split())[:MAX_QUERY_LENGTH].strip()


def _split_identifiers(expression):
    return Func(
        expression,
        Value(CODE_BREAKS),
        Value(rf"\&{ZERO_WIDTH_SPACE}"),
        Value("g"),
        function="regexp_replace",
        output_field=TextField(),
    )


def document_vector():
    """The stored search vector of a post: title weighs most, then summary, then body."""
    return (
        SearchVector(_split_identifiers(F("title")), weight="A", config=CONFIG)
        + SearchVector(_split_identifiers(F("summary")), weight="B", config=CONFIG)
        + SearchVector(_split_identifiers(F("body_text")), weight="C", config=CONFIG)
    )


def find_posts(posts, text, connection):
    """`posts` matching `text`, best first; each result can then give `snippet_html()`."""
    if uses_full_text_search(connection):
        return _full_text_search(posts, text)
    return _substring_search(posts, text)


WORD_CHARACTER = re.compile(r"\w")


def websearch_text(text):
    """`text` without what PostgreSQL's websearch syntax chokes on and nobody means.

    A token with no letter or digit in it ("-", "--", "!!") finds nothing, and a long run of
    hyphens overflows websearch_to_tsquery's stack ("tsquery stack too small").
    """
    kept = []
    for token in text.split():
        if not WORD_CHARACTER.search(token):
            continue
        kept.append("-" + token.lstrip("-") if token.startswith("-") else token)
    return " ".join(kept)


def _full_text_search(posts, text):
    query = SearchQuery(
        re.sub(CODE_BREAKS, rf"\g<0>{ZERO_WIDTH_SPACE}", websearch_text(text)),
        search_type="websearch",
        config=CONFIG,
    )
    headline = SearchHeadline(
        _split_identifiers(
            Concat(F("summary"), Value(" "), F("body_text"), output_field=TextField())
        ),
        query,
        config=CONFIG,
        start_sel=MARK_START,
        stop_sel=MARK_END,
        min_words=12,
        max_words=25,
        max_fragments=2,
        fragment_delimiter=" … ",
    )
    return (
        posts.filter(search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query), headline=headline)
        .defer("body", "body_html", "toc_html", "body_text", "search_vector")
        .order_by("-rank", "-published_at", "-id")
    )


def snippet_html(post, text):
    """A short passage of the post with the matched words in <mark>, safe to show."""
    if hasattr(post, "headline"):
        html = escape(post.headline).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    else:
        html = _substring_snippet(f"{post.summary} {post.body_text}", parse_query(text)[0])
    # Every piece of the post's text went through escape(); only our <mark> tags are raw.
    return mark_safe(html.replace(ZERO_WIDTH_SPACE, ""))  # noqa: S308


# A small subset of websearch syntax: "quoted phrases", -exclusions and `or` between terms.
QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse_query(text):
    """(alternatives, excluded): each alternative is a list of terms that must all appear."""
    alternatives, excluded, current = [], [], []
    for minus, phrase, word in QUERY_TOKEN.findall(websearch_text(text)):
        if word.lower() == "or":
            if current:
                alternatives.append(current)
            current = []
            continue
        term = word or phrase.strip()
        if word.startswith("-") and len(word) > 1:
            excluded.append(word[1:])
        elif minus and term:
            excluded.append(term)
        elif term and term != "-":
            current.append(term)
    if current:
        alternatives.append(current)
    kept = MAX_FALLBACK_TERMS
    alternatives = [terms[:kept] for terms in alternatives[:kept]]
    return alternatives, excluded[:kept]


def _contains(term):
    return Q(title__icontains=term) | Q(summary__icontains=term) | Q(body_text__icontains=term)


def _substring_search(posts, text):
    alternatives, excluded = parse_query(text)
    if not alternatives:
        return posts.none()
    matching = reduce(or_, (reduce(and_, map(_contains, terms)) for terms in alternatives))
    for term in excluded:
        posts = posts.exclude(_contains(term))
    score = reduce(
        add,
        (
            Case(When(**{f"{field}__icontains": term}, then=Value(weight)), default=Value(0))
            for terms in alternatives
            for term in terms
            for field, weight in (("title", 4), ("summary", 2), ("body_text", 1))
        ),
    )
    return (
        posts.filter(matching)
        .annotate(score=score)
        .defer("body", "body_html", "toc_html", "search_vector")
        .order_by("-score", "-published_at", "-id")
    )


SNIPPET_BEFORE, SNIPPET_LENGTH = 60, 240


def _substring_snippet(text, alternatives):
    terms = sorted({term for terms in alternatives for term in terms}, key=len, reverse=True)
    if not terms:
        return escape(text[:SNIPPET_LENGTH])
    pattern = re.compile("|".join(map(re.escape, terms)), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - SNIPPET_BEFORE) if first else 0
    if start:
        start = text.rfind(" ", start, first.start()) + 1 or start
    end = start + SNIPPET_LENGTH
    if end < len(text):
        end = text.rfind(" ", start, end) if " " in text[start:end] else end
    window = text[start:end]
    pieces, position = [], 0
    for match in pattern.finditer(window):
        pieces += [
            escape(window[position : match.start()]),
            f"<mark>{escape(match.group())}</mark>",
        ]
        position = match.end()
    pieces.append(escape(window[position:]))
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    return prefix + "".join(pieces) + suffix
