"""Finding posts: full-text search on PostgreSQL, a simpler substring search elsewhere."""

import re
from functools import reduce
from html import unescape
from operator import add, and_, or_

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.db.models import Case, F, Func, Q, TextField, Value, When
from django.db.models.functions import Concat
from django.utils.html import escape, strip_tags
from django.utils.safestring import mark_safe

from blog.rendering import plain_text

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
        fragment_delimiter=HEADLINE_DELIMITER,
    )
    return (
        posts.filter(search_vector=query)
        .annotate(rank=SearchRank(F("search_vector"), query), headline=headline)
        .defer("body", "toc_html", "body_text", "search_vector")
        .order_by("-rank", "-published_at", "-id")
    )


def snippet_html(post, text):
    """A short passage of the post with the matched words in <mark>, safe to show.

    What it quotes from a code block is shown as that block's matching lines, each in <code>,
    and the rest of the block as "…": code run together with the prose around it, its line
    breaks gone, would read as one long sentence.
    """
    document = PostText(post.summary, post.body_html)
    if hasattr(post, "headline"):
        fragments = post.headline.replace(ZERO_WIDTH_SPACE, "").split(HEADLINE_DELIMITER)
        html = HEADLINE_DELIMITER.join(document.fragment_html(fragment) for fragment in fragments)
    else:
        html = document.window_html(parse_query(text)[0])
    # Every piece of the post's text went through escape(); only our own tags are raw.
    return mark_safe(GAPS.sub(GAP, html))  # noqa: S308


HEADLINE_DELIMITER = " … "
GAP = "…"
GAPS = re.compile(r"…(?:\s+…)+")  # left out lines beside a fragment's end: one "…" says it
# Where the substring search's snippet starts before the first match, and its length.
SNIPPET_BEFORE, SNIPPET_LENGTH = 60, 240
CODE_BLOCK_HTML = re.compile(r"<pre[\s>].*?</pre>", re.DOTALL)
MARKED = re.compile(f"{MARK_START}(.*?){MARK_END}", re.DOTALL)
# The most of a long code line a snippet quotes around its first match.
CODE_LINE_BEFORE, CODE_LINE_LENGTH = 30, 90


class PostText:
    """The text a post is searched in, `summary + " " + body_text`, built again from the body's
    HTML so that each code block's place in it is known, with the block's lines."""

    def __init__(self, summary, body_html):
        pieces, self.code_lines = [summary], []
        position = len(summary) + 1
        last = 0
        for block in CODE_BLOCK_HTML.finditer(body_html):
            for piece in [plain_text(body_html[last : block.start()])]:
                if piece:
                    pieces.append(piece)
                    position += len(piece) + 1
            lines = [" ".join(line.split()) for line in _code_text(block.group()).splitlines()]
            for line in filter(None, lines):
                self.code_lines.append((position, position + len(line)))
                pieces.append(line)
                position += len(line) + 1
            last = block.end()
        pieces.append(plain_text(body_html[last:]))
        self.text = " ".join(filter(None, pieces))

    def fragment_html(self, fragment):
        """A fragment of a PostgreSQL headline (marks as MARK_START…MARK_END) as HTML."""
        plain, marks = "", []
        for index, part in enumerate(MARKED.split(fragment)):
            if index % 2:
                marks.append((len(plain), len(plain) + len(part)))
            plain += part
        start = self.text.find(plain)
        if start < 0:  # not where the document has it: shown as it came, code and all
            return _marked_html(plain, 0, len(plain), marks)
        marks = [(start + a, start + b) for a, b in marks]
        return self._html(start, start + len(plain), marks)

    def window_html(self, alternatives):
        """About SNIPPET_LENGTH characters around the first of the terms, each term marked."""
        text = self.text
        terms = sorted({term for terms in alternatives for term in terms}, key=len, reverse=True)
        if not terms:
            return self._html(0, min(len(text), SNIPPET_LENGTH), [])
        pattern = re.compile("|".join(map(re.escape, terms)), re.IGNORECASE)
        first = pattern.search(text)
        start = max(0, first.start() - SNIPPET_BEFORE) if first else 0
        if start:
            start = text.rfind(" ", start, first.start()) + 1 or start
        end = start + SNIPPET_LENGTH
        if end < len(text):
            end = text.rfind(" ", start, end) if " " in text[start:end] else end
        else:
            end = len(text)
        marks = [match.span() for match in pattern.finditer(text, start, end)]
        prefix = f"{GAP} " if start else ""
        suffix = f" {GAP}" if end < len(text) else ""
        return prefix + self._html(start, end, marks) + suffix

    def _html(self, start, end, marks):
        """text[start:end] with `marks`; code lines in it that hold a mark as <code>, and the
        other code lines left out."""
        parts, position = [], start
        for line_start, line_end in self.code_lines:
            if line_end <= start or line_start >= end:
                continue
            if position < line_start:
                parts.append(_marked_html(self.text, position, line_start, marks).strip())
            line_marks = [(a, b) for a, b in marks if a < line_end and b > line_start]
            if line_marks:
                shown_start, shown_end = _around(self.text, line_start, line_end, line_marks[0])
                code = _marked_html(self.text, shown_start, shown_end, marks)
                parts.append(
                    ("… " if shown_start > line_start else "")
                    + f"<code>{code}</code>"
                    + (" …" if shown_end < line_end else "")
                )
            elif not parts or parts[-1] != GAP:
                parts.append(GAP)
            position = max(position, line_end + 1)
        if position < end:
            parts.append(_marked_html(self.text, position, end, marks).strip())
        return " ".join(part for part in parts if part)


def _code_text(pre_html):
    """A code block's text with its line breaks."""
    return unescape(strip_tags(pre_html))


def _around(text, line_start, line_end, first_mark):
    """Where to cut a long code line so that it shows its first match with some context."""
    if line_end - line_start <= CODE_LINE_LENGTH:
        return line_start, line_end
    start = max(line_start, first_mark[0] - CODE_LINE_BEFORE)
    if start > line_start:
        start = text.rfind(" ", start, first_mark[0]) + 1 or start
    end = min(line_end, max(start + CODE_LINE_LENGTH, first_mark[1]))
    if end < line_end:
        end = text.rfind(" ", first_mark[1], end + 1) if " " in text[first_mark[1] : end] else end
    return start, end


def _marked_html(text, start, end, marks):
    """text[start:end] escaped, with the parts of `marks` inside it in <mark>."""
    pieces, position = [], start
    for mark_start, mark_end in sorted(marks):
        mark_start, mark_end = max(mark_start, position), min(mark_end, end)
        if mark_start >= mark_end:
            continue
        pieces += [
            escape(text[position:mark_start]),
            f"<mark>{escape(text[mark_start:mark_end])}</mark>",
        ]
        position = mark_end
    pieces.append(escape(text[position:end]))
    return "".join(pieces)


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
        .defer("body", "toc_html", "body_text", "search_vector")
        .order_by("-score", "-published_at", "-id")
    )
