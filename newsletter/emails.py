"""The emails the newsletter sends, built from templates in templates/newsletter/email/."""

import re
from functools import cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from pygments.formatters import HtmlFormatter

from blog import figures
from blog.rendering import without_heading_anchors
from core.site import absolute_url
from newsletter.tokens import make_confirm_token, make_unsubscribe_token

MONOSPACE = "font-family: SFMono-Regular, Consolas, 'Liberation Mono', Menlo, monospace"
CODE_BLOCK_STYLE = (
    f"{MONOSPACE}; font-size: 13px; line-height: 1.45; background: #f6f8fa; color: #1f2328; "
    "padding: 12px 14px; border-radius: 6px; margin: 0 0 16px; "
    # Many mail clients can't scroll sideways: wrap long lines; indentation stays as written.
    "white-space: pre-wrap; word-wrap: break-word"
)
INLINE_CODE_STYLE = (
    f"{MONOSPACE}; font-size: 90%; background: #f6f8fa; padding: 1px 4px; border-radius: 4px"
)
ELEMENT_STYLES = {
    "table": "border-collapse: collapse; margin: 0 0 16px",
    "th": "border: 1px solid #d0d7de; padding: 6px 10px; background: #f6f8fa",
    "td": "border: 1px solid #d0d7de; padding: 6px 10px",
    "blockquote": (
        "margin: 0 0 16px; padding: 0 12px; border-left: 4px solid #d0d7de; color: #57606a"
    ),
    "img": "max-width: 100%; height: auto",
}


@cache
def _token_styles():
    return {
        name: style for name, (style, _, _) in HtmlFormatter(style="default").class2style.items()
    }


def _styled_span(match):
    style = _token_styles().get(match.group(1))
    return f'<span style="{style}">' if style else "<span>"


def inline_styled(body_html):
    """
    The post's stored, already sanitized HTML with CSS classes turned into inline styles, which
    is all that Gmail and Outlook keep. Only styles written here are added, nothing from the post.
    """
    html = figures.for_email(without_heading_anchors(body_html)).replace(
        '<div class="highlight"><pre><span></span><code>',
        f'<div><pre style="{CODE_BLOCK_STYLE}"><code style="{MONOSPACE}">',
    )
    html = re.sub(r'<span class="([\w-]+)">', _styled_span, html)
    html = html.replace("<code>", f'<code style="{INLINE_CODE_STYLE}">')
    for element, style in ELEMENT_STYLES.items():
        html = re.sub(rf"<{element}(?=[ >])", f'<{element} style="{style}"', html)
    # Links between posts are relative on the site; an email needs the whole address.
    return re.sub(r'(href|src)="/(?!/)', rf'\1="{settings.SITE_URL}/', html)


def absolute_markdown_links(markdown_text):
    """The post's Markdown, the email's text part, with its site links and images absolute."""
    return re.sub(r"\]\(/(?!/)", f"]({settings.SITE_URL}/", markdown_text)


def unsubscribe_urls(subscriber):
    token = make_unsubscribe_token(subscriber)
    return (
        absolute_url(reverse("newsletter:unsubscribe", args=[token])),
        absolute_url(reverse("newsletter:unsubscribe_one_click", args=[token])),
    )


def _message(subscriber, template, subject, context, *, headers=None, connection=None):
    context = {"site_name": settings.SITE_NAME, "site_url": settings.SITE_URL, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"newsletter/email/{template}.txt", context),
        to=[subscriber.email],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(
        render_to_string(f"newsletter/email/{template}.html", context), "text/html"
    )
    return message


def confirmation_message(subscriber):
    token = make_confirm_token(subscriber)
    return _message(
        subscriber,
        "confirm",
        f"Confirm your subscription to {settings.SITE_NAME}",
        {
            "confirm_url": absolute_url(reverse("newsletter:confirm", args=[token])),
            "days": settings.NEWSLETTER_CONFIRM_DAYS,
        },
    )


def already_subscribed_message(subscriber):
    unsubscribe_url, _ = unsubscribe_urls(subscriber)
    return _message(
        subscriber,
        "already_subscribed",
        f"You are already subscribed to {settings.SITE_NAME}",
        {"unsubscribe_url": unsubscribe_url},
    )


TEST_SUBJECT_PREFIX = "[Test] "


def issue_message(issue, subscriber, *, connection=None, test=False):
    """The email of `issue` for `subscriber`; with `test`, the author's own marked copy."""
    unsubscribe_url, one_click_url = unsubscribe_urls(subscriber)
    targets = [f"<{one_click_url}>"]
    if settings.NEWSLETTER_UNSUBSCRIBE_MAILTO:
        targets.append(f"<mailto:{settings.NEWSLETTER_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>")
    headers = {
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return _message(
        subscriber,
        "issue",
        f"{TEST_SUBJECT_PREFIX}{issue.subject}" if test else issue.subject,
        {"issue": issue, "unsubscribe_url": unsubscribe_url, "is_test": test},
        headers=headers,
        connection=connection,
    )
