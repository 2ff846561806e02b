"""Emailing a post when it goes out, chosen on the post form; the email's preview and test copy."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from blog.models import Post
from newsletter import post_admin, tasks
from newsletter.models import Delivery, NewsletterIssue, PlannedSend, Subscriber
from tests.post_forms import form_time, post_form_data

ADD_URL = reverse("admin:blog_post_add")
POSTS_URL = reverse("admin:blog_post_changelist")


@pytest.fixture(autouse=True)
def no_pacing(settings):
    settings.NEWSLETTER_SEND_RATE = 0


@pytest.fixture
def authors_client(staff_client, author):
    """An author of the "Authors" group, which may send newsletters."""
    author.email = "ada@example.com"
    author.save()
    author.groups.add(Group.objects.get(name="Authors"))
    return staff_client


@pytest.fixture
def readers(make_subscriber):
    """Two confirmed subscribers, and one each that must never get an issue."""
    make_subscriber("waiting@example.com", Subscriber.Status.PENDING)
    make_subscriber("left@example.com", Subscriber.Status.UNSUBSCRIBED)
    return [make_subscriber("ann@example.com"), make_subscriber("bob@example.com")]


@pytest.fixture
def draft(make_post):
    return make_post(status=Post.Status.DRAFT, title="Fencing tokens", slug="fencing-tokens")


@pytest.fixture
def live_post(make_post):
    return make_post(title="Leases, not locks", slug="leases-not-locks")


def later(**delta):
    """A time to come, to the minute, as the form's time field holds it."""
    return (timezone.now() + timedelta(**delta)).replace(second=0, microsecond=0)


def post_form(post, action, *, email=False, **changes):
    """What the post form sends for `post` when `action`'s button is pressed."""
    data = post_form_data(post, _action=action, **changes)
    if email:
        data["email_subscribers"] = "on"
    return data


def press(client, post, action, **kwargs):
    """Press a button of `post`'s form; the post as saved afterwards."""
    url = reverse("admin:blog_post_change", args=[post.pk])
    response = client.post(url, post_form(post, action, **kwargs))
    assert response.status_code == 302, response.context["adminform"].form.errors
    post.refresh_from_db()
    return post


def schedule(client, post, at, *, email=True):
    return press(client, post, "schedule", email=email, published_at=form_time(at))


def change_form(client, post):
    response = client.get(reverse("admin:blog_post_change", args=[post.pk]))
    assert response.status_code == 200
    return response


def email_field(response):
    return response.context["adminform"].form.fields["email_subscribers"]


def email_checkbox(response):
    """The attributes of the box's <input> as the page has it."""
    [tag] = re.findall(r'<input [^>]*name="email_subscribers"[^>]*>', response.content.decode())
    return set(re.findall(r"\s([a-z-]+)(?=[\s=>])", tag))


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def run_tasks_at(run_tasks, moment):
    with time_machine.travel(moment, tick=False):
        run_tasks()


def planned_task_outcomes():
    results = DBTaskResult.objects.filter(task_path=tasks.send_planned_email.module_path)
    assert all(result.status == TaskResultStatus.SUCCESSFUL for result in results)
    return sorted(result.return_value for result in results)


def messages_on(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


# Publish now


def test_publish_now_with_the_box_emails_each_confirmed_subscriber_once(
    authors_client, draft, readers, run_tasks
):
    press(authors_client, draft, "publish", email=True)
    issue = NewsletterIssue.objects.get(post=draft)
    assert {delivery.subscriber for delivery in issue.deliveries.all()} == set(readers)
    run_tasks()
    assert recipients() == ["ann@example.com", "bob@example.com"]
    assert [message.subject for message in mail.outbox] == ["Fencing tokens"] * 2


def test_update_after_the_email_went_out_sends_nothing_more(
    authors_client, draft, readers, run_tasks
):
    press(authors_client, draft, "publish", email=True)
    run_tasks()
    press(authors_client, draft, "update", email=True, body="A corrected body.")
    run_tasks()
    assert NewsletterIssue.objects.count() == 1
    assert recipients() == ["ann@example.com", "bob@example.com"]


def test_publish_now_without_the_box_sends_nothing(authors_client, draft, readers, run_tasks):
    press(authors_client, draft, "publish")
    run_tasks()
    assert not NewsletterIssue.objects.exists()
    assert mail.outbox == []


# Schedule


def test_scheduled_email_waits_for_the_publish_time_then_goes_once(
    authors_client, draft, readers, run_tasks
):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    run_tasks()
    run_tasks_at(run_tasks, send_at - timedelta(minutes=1))
    assert mail.outbox == []
    assert not NewsletterIssue.objects.exists()

    run_tasks_at(run_tasks, send_at + timedelta(minutes=1))
    assert recipients() == ["ann@example.com", "bob@example.com"]
    run_tasks_at(run_tasks, send_at + timedelta(hours=1))
    assert len(mail.outbox) == 2
    assert not PlannedSend.objects.exists()
    with time_machine.travel(send_at + timedelta(minutes=1), tick=False):
        assert Post.objects.published().filter(pk=draft.pk).exists()


def test_scheduling_says_when_the_email_will_go(authors_client, draft, readers):
    send_at = later(days=1)
    url = reverse("admin:blog_post_change", args=[draft.pk])
    response = authors_client.post(
        url, post_form(draft, "schedule", email=True, published_at=form_time(send_at)), follow=True
    )
    when = f"{timezone.localtime(send_at):%Y-%m-%d %H:%M %Z}"
    assert ("info", f"It will be emailed to subscribers at {when}, as it goes out.") in (
        messages_on(response)
    )
    assert PlannedSend.objects.get(post=draft).send_at == send_at


def test_moving_the_time_later_sends_at_the_new_time_only(
    authors_client, draft, readers, run_tasks
):
    first, second = later(days=1), later(days=2)
    schedule(authors_client, draft, first)
    schedule(authors_client, draft, second)

    run_tasks_at(run_tasks, first + timedelta(minutes=1))
    assert mail.outbox == []
    assert PlannedSend.objects.get(post=draft).send_at == second

    run_tasks_at(run_tasks, second + timedelta(minutes=1))
    assert recipients() == ["ann@example.com", "bob@example.com"]
    assert planned_task_outcomes() == ["issue made", "not due"]


def test_moving_the_time_earlier_sends_at_the_earlier_time_and_the_old_task_does_nothing(
    authors_client, draft, readers, run_tasks
):
    first, second = later(days=2), later(days=1)
    schedule(authors_client, draft, first)
    schedule(authors_client, draft, second)

    run_tasks_at(run_tasks, second + timedelta(minutes=1))
    assert recipients() == ["ann@example.com", "bob@example.com"]

    run_tasks_at(run_tasks, first + timedelta(minutes=1))
    assert len(mail.outbox) == 2
    assert NewsletterIssue.objects.count() == 1
    assert planned_task_outcomes() == ["issue made", "nothing planned"]


def test_scheduling_again_at_the_same_time_queues_no_second_task(authors_client, draft, readers):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    schedule(authors_client, draft, send_at)
    tasks_queued = DBTaskResult.objects.filter(task_path=tasks.send_planned_email.module_path)
    assert tasks_queued.count() == 1


def test_publish_now_on_a_scheduled_post_sends_now_and_its_task_later_does_nothing(
    authors_client, draft, readers, run_tasks
):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    press(authors_client, draft, "publish", email=True)
    run_tasks()
    assert recipients() == ["ann@example.com", "bob@example.com"]
    run_tasks_at(run_tasks, send_at + timedelta(minutes=1))
    assert len(mail.outbox) == 2


# Cancelling


def test_unpublishing_before_the_time_cancels_the_email(authors_client, draft, readers, run_tasks):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    press(authors_client, draft, "unpublish", email=True)
    assert not PlannedSend.objects.exists()
    run_tasks_at(run_tasks, send_at + timedelta(minutes=1))
    assert mail.outbox == []
    assert not NewsletterIssue.objects.exists()


def test_unticking_the_box_on_a_scheduled_post_cancels_the_email(
    authors_client, draft, readers, run_tasks
):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    url = reverse("admin:blog_post_change", args=[draft.pk])
    response = authors_client.post(
        url, post_form(draft, "schedule", published_at=form_time(send_at)), follow=True
    )
    assert ("info", "The planned email to subscribers is cancelled.") in messages_on(response)
    assert not PlannedSend.objects.exists()
    run_tasks_at(run_tasks, send_at + timedelta(minutes=1))
    assert mail.outbox == []
    with time_machine.travel(send_at + timedelta(minutes=1), tick=False):
        assert Post.objects.published().filter(pk=draft.pk).exists()


def test_unpublish_list_action_cancels_a_planned_email(authors_client, draft, readers, run_tasks):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    authors_client.post(POSTS_URL, {"action": "unpublish", "_selected_action": [draft.pk]})
    assert not PlannedSend.objects.exists()
    run_tasks_at(run_tasks, send_at + timedelta(minutes=1))
    assert mail.outbox == []


# Drafts


def test_a_draft_saved_with_the_box_sends_nothing(authors_client, draft, readers, run_tasks):
    press(authors_client, draft, "draft", email=True)
    run_tasks()
    run_tasks_at(run_tasks, later(days=30))
    assert mail.outbox == []
    assert PlannedSend.objects.get(post=draft).send_at is None


def test_a_draft_reopened_shows_the_box_ticked(authors_client, draft, readers):
    press(authors_client, draft, "draft", email=True)
    response = change_form(authors_client, draft)
    assert email_field(response).initial is True
    assert "checked" in email_checkbox(response)
    assert "disabled" not in email_checkbox(response)


def test_publishing_a_draft_with_a_plan_sends_once(authors_client, draft, readers, run_tasks):
    press(authors_client, draft, "draft", email=True)
    press(authors_client, draft, "publish", email=True)
    run_tasks()
    press(authors_client, draft, "update", email=True)
    run_tasks()
    assert recipients() == ["ann@example.com", "bob@example.com"]
    assert not PlannedSend.objects.exists()


def test_a_new_post_saved_as_draft_with_the_box_keeps_the_plan(authors_client, author, readers):
    data = {
        "title": "Quorum reads",
        "slug": "quorum-reads",
        "summary": "Why.",
        "body": "Words.",
        "published_at": "",
        "author": author.pk,
        "_action": "draft",
        "email_subscribers": "on",
    }
    assert authors_client.post(ADD_URL, data).status_code == 302
    assert PlannedSend.objects.get().post.slug == "quorum-reads"


def test_publish_now_list_action_honours_a_drafts_plan(authors_client, draft, readers, run_tasks):
    press(authors_client, draft, "draft", email=True)
    authors_client.post(POSTS_URL, {"action": "publish_now", "_selected_action": [draft.pk]})
    run_tasks()
    assert recipients() == ["ann@example.com", "bob@example.com"]


# Never twice


def test_two_tasks_for_one_planned_send_make_one_issue(authors_client, draft, readers, run_tasks):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    tasks.send_planned_email.using(run_after=send_at).enqueue(draft.pk)
    run_tasks_at(run_tasks, send_at + timedelta(minutes=1))
    assert NewsletterIssue.objects.count() == 1
    assert recipients() == ["ann@example.com", "bob@example.com"]
    assert planned_task_outcomes() == ["issue made", "nothing planned"]


def test_a_sent_post_shows_the_box_disabled_with_when_it_was_emailed(
    authors_client, draft, readers
):
    press(authors_client, draft, "publish", email=True)
    sent_at = timezone.localtime(NewsletterIssue.objects.get().created_at)
    response = change_form(authors_client, draft)
    field = email_field(response)
    assert field.disabled
    assert field.initial is True
    content = response.content.decode()
    assert f"Emailed on {sent_at:%Y-%m-%d %H:%M}." in content
    assert {"checked", "disabled"} <= email_checkbox(response)


def test_a_post_sent_from_the_list_is_not_sent_again_from_the_form(
    authors_client, live_post, readers, run_tasks
):
    authors_client.post(
        POSTS_URL, {"action": "send_to_subscribers", "_selected_action": [live_post.pk]}
    )
    press(authors_client, live_post, "update", email=True)
    run_tasks()
    assert NewsletterIssue.objects.count() == 1
    assert len(mail.outbox) == 2


def test_autosave_of_a_draft_with_a_plan_sends_nothing(authors_client, draft, readers, run_tasks):
    press(authors_client, draft, "draft", email=True)
    response = authors_client.post(
        reverse("admin:blog_post_autosave", args=[draft.pk]),
        {"title": draft.title, "slug": draft.slug, "summary": "", "body": "More words."},
    )
    assert response.status_code == 200
    run_tasks()
    assert not NewsletterIssue.objects.exists()
    assert mail.outbox == []
    assert PlannedSend.objects.filter(post=draft).exists()


# Who may send


@pytest.fixture
def editor(db):
    """Staff who may write and publish posts but not send newsletters."""
    editor = get_user_model().objects.create_user(
        username="eve", password="correct-horse-battery", is_staff=True, email="eve@example.com"
    )
    editor.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="blog", content_type__model="post")
    )
    return editor


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def test_the_box_is_disabled_for_staff_who_may_not_send(editor_client, draft, readers):
    response = change_form(editor_client, draft)
    assert email_field(response).disabled
    content = response.content.decode()
    assert "Only authors who may send newsletters can choose this." in content
    assert "disabled" in email_checkbox(response)


def test_staff_who_may_not_send_cannot_plan_a_send(editor_client, draft, readers, run_tasks):
    press(editor_client, draft, "draft", email=True)
    assert not PlannedSend.objects.exists()
    press(editor_client, draft, "publish", email=True)
    run_tasks()
    assert not NewsletterIssue.objects.exists()
    assert mail.outbox == []


def test_staff_who_may_not_send_moving_the_time_moves_the_planned_send(
    authors_client, author, editor, draft, readers, run_tasks
):
    # The author chose to email it; an editor then moves the post a day later.
    first, second = later(days=1), later(days=2)
    schedule(authors_client, draft, first)
    authors_client.force_login(editor)
    schedule(authors_client, draft, second, email=False)
    run_tasks_at(run_tasks, first + timedelta(minutes=1))
    assert mail.outbox == []
    run_tasks_at(run_tasks, second + timedelta(minutes=1))
    assert recipients() == ["ann@example.com", "bob@example.com"]
    assert NewsletterIssue.objects.get().created_by == author


def test_staff_who_may_not_send_unpublishing_cancels_the_planned_send(
    authors_client, editor, draft, readers, run_tasks
):
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    authors_client.force_login(editor)
    press(authors_client, draft, "unpublish")
    assert not PlannedSend.objects.exists()


# The subscriber count


def test_the_form_shows_how_many_confirmed_subscribers_would_get_it(authors_client, draft, readers):
    content = change_form(authors_client, draft).content.decode()
    assert "2 confirmed subscribers would get it now." in content


def test_the_new_post_form_shows_the_count_too(authors_client, make_subscriber):
    make_subscriber("ann@example.com")
    content = authors_client.get(ADD_URL).content.decode()
    assert "1 confirmed subscriber would get it now." in content


# The email's preview


def preview_url(post):
    return reverse("admin:blog_post_email_preview", args=[post.pk])


def html_url(post):
    return reverse("admin:blog_post_email_html", args=[post.pk])


def test_email_preview_shows_the_subject_and_plain_text(authors_client, live_post, readers):
    response = authors_client.get(preview_url(live_post))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<dd>Leases, not locks</dd>" in content
    assert "Body of post 1." in content
    assert "## A section" in content
    assert html_url(live_post) in content


def test_email_preview_of_a_draft_works_for_staff(authors_client, draft):
    response = authors_client.get(preview_url(draft))
    assert response.status_code == 200
    assert "once the post is published" in response.content.decode()
    assert authors_client.get(html_url(draft)).status_code == 200


def test_email_html_carries_the_body_with_inline_styles(authors_client, live_post):
    response = authors_client.get(html_url(live_post))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Body of post 1." in content
    assert "<h2" in content
    assert 'style="' in content


def test_email_html_may_be_framed_by_the_admin_only_and_allows_its_inline_styles(
    authors_client, live_post
):
    response = authors_client.get(html_url(live_post))
    policy = response["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in policy
    assert "frame-ancestors 'self'" in policy
    assert "script-src" not in policy
    assert "default-src 'none'" in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_email_preview_sends_anonymous_visitors_to_the_login(client, live_post):
    for url in [preview_url(live_post), html_url(live_post)]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_email_preview_sends_non_staff_to_the_login(client, live_post):
    reader = get_user_model().objects.create_user(username="reader", password="x")
    client.force_login(reader)
    response = client.get(preview_url(live_post))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_email_preview_is_forbidden_to_staff_without_post_permissions(staff_client, live_post):
    assert staff_client.get(preview_url(live_post)).status_code == 403
    assert staff_client.get(html_url(live_post)).status_code == 403


# The test copy


def send_test(client, post):
    return client.post(reverse("admin:blog_post_email_test", args=[post.pk]), follow=True)


def test_test_copy_goes_to_the_author_alone_marked_as_a_test(authors_client, live_post, readers):
    response = send_test(authors_client, live_post)
    assert ("success", "Sent a test copy to ada@example.com.") in messages_on(response)
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "[Test] Leases, not locks"
    assert "A test copy, sent from the admin to you alone." in message.body
    [(html, _)] = message.alternatives
    assert "A test copy, sent from the admin to you alone." in html
    assert "Body of post 1." in html


def test_test_copy_makes_no_issue_or_delivery(authors_client, live_post, readers):
    send_test(authors_client, live_post)
    assert not NewsletterIssue.objects.exists()
    assert not Delivery.objects.exists()


def test_test_copy_has_the_unsubscribe_headers_of_a_real_issue(authors_client, live_post):
    send_test(authors_client, live_post)
    [message] = mail.outbox
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_test_copy_of_a_draft_can_be_sent(authors_client, draft):
    send_test(authors_client, draft)
    assert [message.subject for message in mail.outbox] == ["[Test] Fencing tokens"]


def test_test_copy_without_an_email_address_says_so_and_sends_nothing(
    authors_client, author, live_post
):
    author.email = ""
    author.save()
    response = send_test(authors_client, live_post)
    assert messages_on(response) == [
        ("error", "Your user has no email address: add one to your user to get test copies.")
    ]
    assert mail.outbox == []


def test_test_copies_are_limited_per_hour(authors_client, live_post, monkeypatch):
    monkeypatch.setattr(post_admin, "TEST_EMAILS_PER_HOUR", 2)
    send_test(authors_client, live_post)
    send_test(authors_client, live_post)
    response = send_test(authors_client, live_post)
    assert ("error", "That is enough test copies for this hour; try later.") in messages_on(
        response
    )
    assert len(mail.outbox) == 2
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1), tick=False):
        send_test(authors_client, live_post)
    assert len(mail.outbox) == 3


def test_test_copy_needs_a_post(authors_client):
    response = authors_client.post(reverse("admin:blog_post_email_test", args=[999_999]))
    assert response.status_code == 403


def test_test_copy_is_forbidden_to_staff_who_may_not_send(editor_client, live_post):
    response = editor_client.post(reverse("admin:blog_post_email_test", args=[live_post.pk]))
    assert response.status_code == 403
    assert mail.outbox == []


def test_test_copy_accepts_post_only(authors_client, live_post):
    response = authors_client.get(reverse("admin:blog_post_email_test", args=[live_post.pk]))
    assert response.status_code == 405
    assert mail.outbox == []


def test_a_new_post_published_with_the_box_is_emailed(authors_client, author, readers, run_tasks):
    data = {
        "title": "Quorum reads",
        "slug": "quorum-reads",
        "summary": "Why.",
        "body": "Words.",
        "published_at": "",
        "author": author.pk,
        "_action": "publish",
        "email_subscribers": "on",
    }
    assert authors_client.post(ADD_URL, data).status_code == 302
    run_tasks()
    assert [message.subject for message in mail.outbox] == ["Quorum reads"] * 2


def test_a_scheduled_email_goes_at_the_publish_time_of_the_sites_time_zone(
    authors_client, draft, readers, run_tasks, settings
):
    settings.TIME_ZONE = "America/New_York"
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    assert draft.published_at == send_at
    run_tasks_at(run_tasks, send_at - timedelta(minutes=1))
    assert mail.outbox == []
    run_tasks_at(run_tasks, send_at)
    assert recipients() == ["ann@example.com", "bob@example.com"]


def test_scheduling_a_draft_with_a_plan_sends_at_its_time(
    authors_client, draft, readers, run_tasks
):
    press(authors_client, draft, "draft", email=True)
    send_at = later(days=1)
    schedule(authors_client, draft, send_at)
    assert PlannedSend.objects.get(post=draft).send_at == send_at
    run_tasks_at(run_tasks, send_at + timedelta(minutes=1))
    assert recipients() == ["ann@example.com", "bob@example.com"]
