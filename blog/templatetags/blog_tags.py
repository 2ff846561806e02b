import datetime
import json
import re

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# As in django.utils.html.json_script: no "<", ">" or "&" can close the script element.
JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def json_ld(data):
    """`data` as a JSON-LD script element."""
    payload = json.dumps(data, cls=DjangoJSONEncoder).translate(JSON_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(payload))  # noqa: S308


@register.filter
def html_datetime(value):
    """`value` as a valid HTML datetime string: whole seconds and the offset ("…T09:30:00+00:00").

    Django's "c" format keeps microseconds, which HTML's `datetime` attribute does not allow.
    """
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


# What may come between a series' title and a part's own name: "Series: Part 2 (Name)",
# "Series, part 2 – Name", "Series #2: Name".
PART_PREFIX = re.compile(r"[\s:,.–—-]*(?:(?:part|pt\.?)\s*\d+|#\d+)?[\s:,.–—-]*", re.IGNORECASE)
BRACKETED = re.compile(r"\((?P<inner>[^()]*)\)|\[(?P<square>[^\[\]]*)\]")


def title_within_series(title, series_title):
    """A part's title without its series' title in front: "Series: Part 1 (Die Hard Edition)"
    reads "Die Hard Edition" beside "Part 1". "" when nothing else is left; `title` unchanged
    when it does not start with the series' title."""
    if not series_title or not title.casefold().startswith(series_title.casefold()):
        return title
    rest = title[len(series_title) :]
    if rest[:1].isalnum():
        return title  # "Series" in front of "Seriesly…" is not the series' title
    rest = rest[PART_PREFIX.match(rest).end() :].strip()
    bracketed = BRACKETED.fullmatch(rest)
    if bracketed:
        rest = (bracketed["inner"] or bracketed["square"] or "").strip()
    return rest


@register.filter
def part_title(title, series_title):
    """`title_within_series()` for templates: `{{ part.title|part_title:post.series.title }}`."""
    return title_within_series(title, series_title)


@register.filter
def toc_sections(toc_html):
    """How many headings a stored table of contents lists."""
    return toc_html.count("<li")
