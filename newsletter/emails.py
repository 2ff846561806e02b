"""The emails the newsletter sends, built from templates in templates/newsletter/email/.

An issue is rendered once for all its subscribers (`IssueEmail`); only the links that carry a
subscriber's own signed token differ between their copies, and those are put in last.
"""

import re
from datetime import UTC
from email.utils import format_datetime, make_msgid
from functools import cache
from urllib.parse import urlsplit

import css_inline
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from pygments.formatters import HtmlFormatter

from blog import figures
from blog.rendering import without_heading_anchors, without_scrollable_regions
from core.site import absolute_url
from newsletter.tokens import make_confirm_token, make_manage_token, make_unsubscribe_token

MONOSPACE = "SFMono-Regular, Consolas, 'Liberation Mono', Menlo, monospace"
# The post's look in mail clients, which keep inline styles only: css-inline writes these into
# each element's style attribute. Only this stylesheet is inlined, never anything from the post.
EMAIL_CSS = f"""
.highlight pre, pre {{
  font-family: {MONOSPACE}; font-size: 13px; line-height: 1.45; background: #f6f8fa;
  color: #1f2328; padding: 12px 14px; border-radius: 6px; margin: 0 0 16px;
  white-space: pre-wrap; word-wrap: break-word;
}}
code {{
  font-family: {MONOSPACE}; font-size: 90%; background: #f6f8fa; padding: 1px 4px;
  border-radius: 4px;
}}
pre code {{ font-size: 13px; background: transparent; padding: 0; }}
.highlight {{ background: transparent; }}
table {{ border-collapse: collapse; margin: 0 0 16px; width: 100%; }}
th {{ border: 1px solid #d0d7de; padding: 4px 6px; background: #f6f8fa; word-break: break-word; }}
td {{ border: 1px solid #d0d7de; padding: 4px 6px; word-break: break-word; }}
blockquote {{ margin: 0 0 16px; padding: 0 12px; border-left: 4px solid #d0d7de; color: #57606a; }}
img {{ max-width: 100%; height: auto; }}
sup {{ font-size: 75%; line-height: 0; vertical-align: super; }}
.footnote {{ font-size: 14px; color: #57606a; margin-top: 24px; }}
.footnote hr {{ border: 0; border-top: 1px solid #d0d7de; margin: 0 0 8px; }}
.highlight .filename {{
  display: block; font-family: {MONOSPACE}; font-size: 13px; font-weight: 600;
  padding: 6px 14px; background: rgba(130, 140, 150, 0.18); border-radius: 6px 6px 0 0;
}}
.highlight .filename + pre {{ border-radius: 0 0 6px 6px; }}
.highlight .linenos {{ padding: 0; }}
.highlight .hll {{ background: rgba(255, 200, 0, 0.22); }}
.highlight .gi {{ background: rgba(46, 160, 67, 0.15); }}
.highlight .gd {{ background: rgba(248, 81, 73, 0.15); }}
.admonition {{
  margin: 0 0 16px; padding: 8px 14px; border: 1px solid #d0d7de;
  border-left: 4px solid #0969da; border-radius: 6px;
}}
.admonition.tip {{ border-left: 4px solid #1a7f37; }}
.admonition.warning {{ border-left: 4px solid #bf8700; }}
.admonition p {{ margin: 0 0 8px; }}
.admonition .admonition-title {{ font-weight: 600; margin: 0 0 4px; }}
"""
# Many mail clients cannot scroll sideways, so code wraps (above); indentation stays as written.
# Line numbers are left out: the site shows them from an attribute, which email cannot. Callouts,
# highlighted lines and diff lines use borders and see-through tints, which read the same over
# the light card and over a dark mail client's, where the layout's dark rules recolour the text.

# Footnotes as the Markdown extension writes them: a numbered link to the note, and a link back.
# Mail clients drop the ids these point at, so email keeps the numbers and loses the links.
FOOTNOTE_REFERENCE = re.compile(
    r'<sup id="fnref[^"]*"><a class="footnote-ref" href="[^"]*">([^<]*)</a></sup>'
)
FOOTNOTE_BACK_LINK = re.compile(
    r'(?:&#160;)?<a class="footnote-backref" href="[^"]*"[^>]*>[^<]*</a>'
)
FOOTNOTE_ID = re.compile(r' id="fn:[^"]*"')


# Classes only name styles; once inlined they are bytes towards Gmail's 102 KB clipping.
CLASS_ATTRIBUTE = re.compile(r' class="[^"]*"')


@cache
def _stylesheet():
    # Ours last, so it wins over Pygments' own `pre` rules.
    return HtmlFormatter(style="default").get_style_defs(".highlight") + EMAIL_CSS


def inline_styled(body_html):
    """
    The post's stored, already sanitized HTML as mail clients need it: styles inline, footnotes
    as plain numbered notes, images at email size, and site links absolute.
    """
    # In email code wraps and tables fit the width: the site's scroll focus stops scroll nothing.
    html = figures.for_email(without_heading_anchors(without_scrollable_regions(body_html)))
    html = FOOTNOTE_REFERENCE.sub(r"<sup>\1</sup>", html)
    html = FOOTNOTE_ID.sub("", FOOTNOTE_BACK_LINK.sub("", html))
    html = CLASS_ATTRIBUTE.sub("", css_inline.inline_fragment(html, _stylesheet()))
    # Links between posts are relative on the site; an email needs the whole address.
    return re.sub(r'(href|src)="/(?!/)', rf'\1="{settings.SITE_URL}/', html)


def absolute_markdown_links(markdown_text):
    """The post's Markdown, the email's text part, with its site links and images absolute."""
    return re.sub(r"\]\(/(?!/)", f"]({settings.SITE_URL}/", markdown_text)


def site_host():
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def envelope_headers():
    """Every email's own Date (in UTC, "+0000", not "-0000" for "zone unknown") and a
    Message-ID on the site's domain rather than the machine's name."""
    return {
        "Date": format_datetime(timezone.now().astimezone(UTC)),
        "Message-ID": make_msgid(domain=site_host()),
    }


def list_headers(one_click_url):
    """RFC 2369, 2919 and 8058: which list this is and how to leave it in one click."""
    targets = [f"<{one_click_url}>"]
    if settings.NEWSLETTER_UNSUBSCRIBE_MAILTO:
        targets.append(f"<mailto:{settings.NEWSLETTER_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>")
    return {
        "List-Id": f"<newsletter.{site_host()}>",
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def manage_url(subscriber):
    return absolute_url(reverse("newsletter:manage", args=[make_manage_token(subscriber)]))


def unsubscribe_urls(subscriber):
    token = make_unsubscribe_token(subscriber)
    return (
        absolute_url(reverse("newsletter:unsubscribe", args=[token])),
        absolute_url(reverse("newsletter:unsubscribe_one_click", args=[token])),
    )


def subscriber_links(subscriber):
    unsubscribe_url, one_click_url = unsubscribe_urls(subscriber)
    return {
        "unsubscribe_url": unsubscribe_url,
        "one_click_url": one_click_url,
        "manage_url": manage_url(subscriber),
    }


def _context(context):
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "postal_address": settings.NEWSLETTER_POSTAL_ADDRESS,
        **context,
    }


class RenderedEmail:
    """One email's subject and parts, rendered once, with stand-ins where each subscriber's own
    links go; `message_for()` puts a subscriber's links in."""

    # Signed tokens hold only [A-Za-z0-9_:-], so they need no escaping in HTML or headers.
    PLACEHOLDERS = {name: f"@@{name.upper()}@@" for name in ("unsubscribe_url", "manage_url")}

    def __init__(self, template, subject, context, *, list_mail=True):
        context = _context({**context, **self.PLACEHOLDERS})
        self.subject = subject
        self.text = render_to_string(f"newsletter/email/{template}.txt", context)
        self.html = render_to_string(f"newsletter/email/{template}.html", context)
        self.list_mail = list_mail

    def message_for(self, subscriber, *, connection=None, links=None):
        links = links or subscriber_links(subscriber)
        text, html = self.text, self.html
        for name, placeholder in self.PLACEHOLDERS.items():
            text = text.replace(placeholder, links[name])
            html = html.replace(placeholder, links[name])
        headers = envelope_headers()
        if self.list_mail:
            headers.update(list_headers(links["one_click_url"]))
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=text,
            to=[subscriber.email],
            headers=headers,
            connection=connection,
        )
        message.attach_alternative(html, "text/html")
        return message


def _message(subscriber, template, subject, context, *, list_mail=True):
    return RenderedEmail(template, subject, context, list_mail=list_mail).message_for(subscriber)


def confirmation_message(subscriber):
    # Not list mail: the address is not on the list until its owner says so.
    token = make_confirm_token(subscriber)
    return _message(
        subscriber,
        "confirm",
        f"Confirm your subscription to {settings.SITE_NAME}",
        {
            "confirm_url": absolute_url(reverse("newsletter:confirm", args=[token])),
            "days": settings.NEWSLETTER_CONFIRM_DAYS,
        },
        list_mail=False,
    )


def already_subscribed_message(subscriber):
    return _message(
        subscriber,
        "already_subscribed",
        f"You are already subscribed to {settings.SITE_NAME}",
        {"subscriber": subscriber},
    )


def welcome_message(subscriber):
    return _message(
        subscriber,
        "welcome",
        f"Welcome to {settings.SITE_NAME}",
        {"subscriber": subscriber, "choices": choices_summary(subscriber)},
    )


def add_topic_message(subscriber, topic, confirm_url):
    """Asks a subscriber to confirm adding a series or tag (`topic`) to what they get."""
    return _message(
        subscriber,
        "add_topic",
        f"Confirm: new posts in “{topic}” from {settings.SITE_NAME}",
        {"subscriber": subscriber, "topic": topic, "confirm_url": confirm_url},
        list_mail=False,
    )


def choices_summary(subscriber):
    """What a subscriber gets, in words: "every new post", or the series and tags they chose."""
    if subscriber.everything:
        return "every new post"
    names = [f"the series “{series}”" for series in subscriber.series.all()]
    names += [f"posts tagged “{tag}”" for tag in subscriber.tags.all()]
    if not names:
        return "nothing until you choose a series or tag"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


TEST_SUBJECT_PREFIX = "[Test] "


class IssueEmail(RenderedEmail):
    """An issue's email, rendered once however many subscribers get it."""

    def __init__(self, issue, *, test=False):
        super().__init__(
            "issue",
            f"{TEST_SUBJECT_PREFIX}{issue.subject}" if test else issue.subject,
            {"issue": issue, "is_test": test},
        )


def issue_message(issue, subscriber, *, connection=None, test=False):
    """The email of `issue` for `subscriber`; with `test`, the author's own marked copy."""
    return IssueEmail(issue, test=test).message_for(subscriber, connection=connection)
