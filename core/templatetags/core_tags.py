from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core import speculation

register = template.Library()


@register.simple_tag
def speculation_rules():
    return format_html(
        '<script type="speculationrules">{}</script>',
        mark_safe(speculation.RULES),  # noqa: S308
    )
