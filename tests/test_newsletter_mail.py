"""The newsletter's emails as mail clients and receiving servers see them: headers, footer,
footnotes, size, signing, who gets a post, and the archive of what was sent."""

import email
import re
from email import policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group
from django.core import mail
from django.test.signals import template_rendered
from django.urls import reverse

from blog.models import Post
from newsletter import emails, issues, services, tasks
from newsletter.models import Delivery, Subscriber

FOOTNOTE_POST = "Queues hide overload[^1] until they don't.\n\n[^1]: Little's law says why.\n"


@pytest.fixture
def public_site(settings):
    settings.SITE_URL = "https://blog.example.com"


def received(handler):
    return [email.message_from_bytes(raw, policy=policy.default) for _, raw in handler.received]


def html_of(message):
    return message.alternatives[0][0]


@pytest.mark.django_db(transaction=True)
def test_sent_issue_names_its_list_and_dates_itself_in_utc_on_the_sites_domain(
    make_post, make_subscriber, smtp_server, public_site
):
    make_subscriber("reader@example.com")
    issue = services.send_post(make_post())
    tasks.send_issue.call(issue.pk)
    [message] = received(smtp_server)
    assert message["List-Id"] == "<newsletter.blog.example.com>"
    assert re.fullmatch(r"<[^@<>]+@blog\.example\.com>", message["Message-ID"])
    assert message["Date"].endswith(" +0000")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivery = issue.deliveries.get()
    assert delivery.message_id == message["Message-ID"]


def test_every_subscriber_email_links_to_manage_and_unsubscribe(
    make_post, make_subscriber, run_tasks, link_in
):
    subscriber = make_subscriber("reader@example.com")
    services.send_post(make_post())
    run_tasks()
    emails.already_subscribed_message(subscriber).send()
    for message in mail.outbox:
        assert link_in(message, "manage")
        assert link_in(message, "unsubscribe")
        assert "/newsletter/manage/" in html_of(message)
        assert message.extra_headers["List-Id"] == "<newsletter.127.0.0.1>"


def test_confirming_sends_a_welcome_email_with_manage_and_one_click_links(
    client, run_tasks, link_in
):
    client.post(reverse("newsletter:subscribe"), {"email": "new@example.com"})
    run_tasks()
    client.post(link_in(mail.outbox[0], "confirm"))
    run_tasks()
    welcome = mail.outbox[1]
    assert welcome.subject == "Welcome to Blog"
    assert welcome.to == ["new@example.com"]
    assert "every new post" in welcome.body
    assert "http://127.0.0.1:8000/" in welcome.body
    one_click = welcome.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/newsletter/unsubscribe/" in one_click
    assert client.post(one_click.removeprefix("http://127.0.0.1:8000")).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_confirming_twice_welcomes_once(client, run_tasks, link_in):
    client.post(reverse("newsletter:subscribe"), {"email": "new@example.com"})
    run_tasks()
    confirm = link_in(mail.outbox[0], "confirm")
    client.post(confirm)
    client.post(confirm)
    run_tasks()
    assert [message.subject for message in mail.outbox].count("Welcome to Blog") == 1


def test_footnotes_in_email_are_plain_numbered_notes_without_page_links(
    make_post, make_subscriber, run_tasks
):
    make_subscriber("reader@example.com")
    services.send_post(make_post(body=FOOTNOTE_POST))
    run_tasks()
    html = html_of(mail.outbox[0])
    assert "#fn:" not in html and "#fnref:" not in html
    assert 'id="fn' not in html
    assert "&#8617;" not in html and "↩" not in html
    assert re.search(r'<sup style="[^"]*font-size[^"]*">1</sup>', html)
    assert "Little's law says why." in html or "Little&#x27;s law says why." in html


def test_code_in_email_is_styled_inline_and_wraps(make_post, make_subscriber, run_tasks):
    make_subscriber("reader@example.com")
    services.send_post(make_post(body="```python\nimport os\n```\n\nSee `os`."))
    run_tasks()
    html = html_of(mail.outbox[0])
    assert re.search(r'<pre style="[^"]*white-space: pre-wrap', html)
    assert re.search(r'<span style="[^"]*">import</span>', html)
    assert re.search(r'<code style="[^"]*background: #f6f8fa', html)


def test_postal_address_is_in_the_footer_only_when_set(
    settings, make_post, make_subscriber, run_tasks
):
    make_subscriber("reader@example.com")
    services.send_post(make_post())
    run_tasks()
    assert "Main Street" not in mail.outbox[0].body
    settings.NEWSLETTER_POSTAL_ADDRESS = "1 Main Street, Springfield, IL 62701, USA"
    services.send_post(Post.objects.get(), again=True)
    run_tasks()
    assert "1 Main Street, Springfield" in mail.outbox[1].body
    assert "1 Main Street, Springfield" in html_of(mail.outbox[1])


def test_email_declares_it_reads_in_light_and_dark(make_post, make_subscriber, run_tasks):
    make_subscriber("reader@example.com")
    services.send_post(make_post())
    run_tasks()
    html = html_of(mail.outbox[0])
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html


def test_issue_email_links_to_the_post_on_the_site(make_post, make_subscriber, run_tasks):
    make_subscriber("reader@example.com")
    services.send_post(make_post(slug="queues"))
    run_tasks()
    message = mail.outbox[0]
    assert "Read on the site: http://127.0.0.1:8000/posts/queues/" in message.body
    assert (
        '<a href="http://127.0.0.1:8000/posts/queues/" style="color: #57606a;">Read on the site'
        in html_of(message)
    )


def test_an_issue_is_rendered_once_for_all_its_subscribers(make_post, make_subscriber):
    for number in range(4):
        make_subscriber(f"reader{number}@example.com")
    issue = services.send_post(make_post())
    rendered = []

    def record(sender, template, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(record)
    try:
        tasks.send_issue.call(issue.pk)
    finally:
        template_rendered.disconnect(record)
    assert len(mail.outbox) == 4
    assert rendered.count("newsletter/email/issue.html") == 1
    assert rendered.count("newsletter/email/issue.txt") == 1
    unsubscribe_links = {re.search(r"/unsubscribe/([^/]+)/", m.body).group(1) for m in mail.outbox}
    assert len(unsubscribe_links) == 4


def test_recipients_are_those_who_want_the_post_each_once(make_post, make_subscriber, tag, series):
    from blog.models import Tag

    other_tag = Tag.objects.create(name="Databases", slug="databases")
    unrelated = Tag.objects.create(name="Gardening", slug="gardening")
    post = make_post(series=series, series_part=1, tags=[tag, other_tag])
    make_subscriber("everything@example.com")
    make_subscriber("series@example.com", everything=False).series.add(series)
    make_subscriber("tag@example.com", everything=False).tags.add(tag)
    overlapping = make_subscriber("overlap@example.com", everything=False)
    overlapping.series.add(series)
    overlapping.tags.add(tag, other_tag)
    make_subscriber("unrelated@example.com", everything=False).tags.add(unrelated)
    make_subscriber("nothing@example.com", everything=False)
    make_subscriber("pending@example.com", status=Subscriber.Status.PENDING)
    make_subscriber("bounced@example.com", status=Subscriber.Status.BOUNCED)
    make_subscriber("complained@example.com", status=Subscriber.Status.COMPLAINED)

    issue = services.send_post(post)
    tasks.send_issue.call(issue.pk)

    expected = [
        "everything@example.com",
        "overlap@example.com",
        "series@example.com",
        "tag@example.com",
    ]
    assert sorted(address for message in mail.outbox for address in message.to) == expected
    assert issue.recipient_count == 4
    assert issue.deliveries.count() == 4


def test_post_form_and_email_preview_say_how_many_will_get_it(
    staff_client, author, make_post, make_subscriber, tag
):
    author.groups.add(Group.objects.get(name="Authors"))
    post = make_post(tags=[tag])
    make_subscriber("everything@example.com")
    make_subscriber("tag@example.com", everything=False).tags.add(tag)
    make_subscriber("other@example.com", everything=False)
    expected = "2 of 3 confirmed subscribers would get it now"
    change = staff_client.get(reverse("admin:blog_post_change", args=[post.pk]))
    assert expected in change.content.decode()
    preview = staff_client.get(reverse("admin:blog_post_email_preview", args=[post.pk]))
    assert expected in preview.content.decode()


def test_demo_posts_email_under_gmails_clipping_size(db, demo_content):
    subscriber = Subscriber(pk=1, email="reader@example.com")
    sizes = {
        post.slug: len(
            emails.issue_message(issues.issue_content(post), subscriber).message().as_bytes()
        )
        for post in Post.objects.published()
    }
    typical = sorted(sizes.values())[len(sizes) // 2]
    assert typical < 102 * 1024, sizes
    # Gmail clips at 102 KB of the HTML; even the longest demo post stays under it.
    assert max(sizes.values()) < 102 * 1024, sizes


def test_archive_lists_sent_posts_newest_first_and_never_drafts(client, make_post, make_subscriber):
    make_subscriber("reader@example.com")
    older = make_post(title="Older post", slug="older")
    newer = make_post(title="Newer post", slug="newer")
    withdrawn = make_post(title="Withdrawn post", slug="withdrawn")
    for post in (older, newer, withdrawn):
        services.send_post(post)
    Post.objects.filter(pk=withdrawn.pk).update(status=Post.Status.DRAFT)
    make_post(title="Never sent", slug="never-sent")

    response = client.get(reverse("newsletter:archive"))
    content = response.content.decode()
    assert response.status_code == 200
    assert content.index("Newer post") < content.index("Older post")
    assert 'href="/posts/newer/"' in content
    assert "Withdrawn post" not in content
    assert "Never sent" not in content


def test_archive_with_nothing_sent_says_so(client, db):
    response = client.get(reverse("newsletter:archive"))
    assert "Nothing has been emailed yet." in response.content.decode()


def test_archive_answers_head_and_refuses_post(client, db):
    assert client.head(reverse("newsletter:archive")).status_code == 200
    assert client.post(reverse("newsletter:archive")).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_550_on_rcpt_marks_the_subscriber_bounced_and_they_get_nothing_more(
    make_post, make_subscriber, smtp_server
):
    make_subscriber("gone@example.com")
    make_subscriber("here@example.com")
    smtp_server.replies["gone@example.com"] = ["550 5.1.1 No such user"]
    issue = services.send_post(make_post(slug="first"))
    tasks.send_issue.call(issue.pk)

    gone = Subscriber.objects.get(email="gone@example.com")
    assert gone.status == Subscriber.Status.BOUNCED
    delivery = issue.deliveries.get(subscriber=gone)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.event == Delivery.Event.BOUNCED

    second = services.send_post(make_post(slug="second"))
    tasks.send_issue.call(second.pk)
    assert list(second.deliveries.values_list("subscriber__email", flat=True)) == [
        "here@example.com"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_450_on_rcpt_is_retried_not_a_bounce(make_post, make_subscriber, smtp_server, settings):
    settings.NEWSLETTER_RETRY_DELAY = 60
    make_subscriber("busy@example.com")
    smtp_server.replies["busy@example.com"] = ["450 4.2.1 Try later"]
    issue = services.send_post(make_post())
    tasks.send_issue.call(issue.pk)
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED
    assert issue.deliveries.get().status == Delivery.Status.QUEUED


@pytest.fixture
def dkim_key(tmp_path, settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    settings.DKIM_PRIVATE_KEY_FILE = str(key_file)
    settings.DKIM_SELECTOR = "blog2026"
    settings.DKIM_DOMAIN = "blog.example.com"
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + __import__("base64").b64encode(public)


@pytest.mark.django_db(transaction=True)
def test_dkim_signed_mail_verifies_against_the_published_key(
    make_post, make_subscriber, smtp_server, settings, dkim_key, public_site
):
    settings.EMAIL_BACKEND = "core.mail.DKIMSigningEmailBackend"
    make_subscriber("reader@example.com")
    issue = services.send_post(make_post())
    tasks.send_issue.call(issue.pk)
    [(_, raw)] = smtp_server.received
    assert raw.startswith(b"DKIM-Signature:")

    def dns(name, timeout=5):
        assert name == b"blog2026._domainkey.blog.example.com."
        return dkim_key

    assert dkim.verify(raw, dnsfunc=dns)
    signed = re.search(rb"h=([^;]+);", raw.replace(b"\r\n", b"").replace(b" ", b"")).group(1)
    assert b"list-unsubscribe-post" in signed.lower()
    assert not dkim.verify(raw.replace(b"Unsubscribe", b"Unsubscr1be", 1), dnsfunc=dns)


def test_an_unreadable_dkim_key_is_a_start_up_error(settings, tmp_path):
    from core.mail import check_dkim_key

    settings.EMAIL_BACKEND = "core.mail.DKIMSigningEmailBackend"
    settings.DKIM_PRIVATE_KEY_FILE = str(tmp_path / "missing.pem")
    [error] = check_dkim_key(None)
    assert error.id == "core.E001" and "cannot be read" in error.msg
    (tmp_path / "missing.pem").write_text("not a key")
    assert "holds no PEM private key" in check_dkim_key(None)[0].msg


def test_dkim_key_check_is_quiet_when_signing_is_off(settings):
    from core.mail import check_dkim_key

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert check_dkim_key(None) == []
