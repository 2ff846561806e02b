import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import formats, timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from blog.models import Post
from newsletter import services
from newsletter.models import NewsletterIssue, Subscriber

SUBSCRIBERS_URL = reverse("admin:newsletter_subscriber_changelist")
EXPORT_URL = reverse("admin:newsletter_subscriber_export")
POSTS_URL = reverse("admin:blog_post_changelist")
ISSUES_URL = reverse("admin:newsletter_newsletterissue_changelist")
DELIVERIES_URL = reverse("admin:newsletter_delivery_changelist")


@pytest.fixture
def authors_client(staff_client, author):
    author.groups.add(Group.objects.get(name="Authors"))
    return staff_client


@pytest.fixture
def three_subscribers(make_subscriber):
    return [
        make_subscriber("pending@example.com", Subscriber.Status.PENDING),
        make_subscriber("confirmed@example.com"),
        make_subscriber("gone@example.com", Subscriber.Status.UNSUBSCRIBED),
    ]


@pytest.fixture
def readers(make_subscriber):
    """Two confirmed subscribers, and one each that must never get an issue."""
    make_subscriber("waiting@example.com", Subscriber.Status.PENDING)
    make_subscriber("left@example.com", Subscriber.Status.UNSUBSCRIBED)
    return [make_subscriber("ann@example.com"), make_subscriber("bob@example.com")]


def shown_emails(client, **params):
    response = client.get(SUBSCRIBERS_URL, params)
    return {subscriber.email for subscriber in response.context["cl"].result_list}


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def run_action(client, url, action, *objects):
    return client.post(
        url, {"action": action, "_selected_action": [obj.pk for obj in objects]}, follow=True
    )


def messages_on(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def emails_to(address):
    return [message for message in mail.outbox if message.to == [address]]


def test_subscriber_changelist_lists_addresses_with_status(admin_client, three_subscribers):
    content = admin_client.get(SUBSCRIBERS_URL).content.decode()
    for address in ["pending@example.com", "confirmed@example.com", "gone@example.com"]:
        assert address in content
    assert "Pending confirmation" in content
    assert "Unsubscribed" in content


def test_subscriber_changelist_shows_counts_by_status(admin_client, three_subscribers):
    content = " ".join(admin_client.get(SUBSCRIBERS_URL).content.decode().split())
    assert "3 in all: 1 pending confirmation, 1 confirmed, 1 unsubscribed, 0 bounced" in content


def test_subscriber_changelist_filters_by_status(admin_client, three_subscribers):
    assert shown_emails(admin_client, status__exact="confirmed") == {"confirmed@example.com"}


def test_subscriber_changelist_search_finds_an_address(admin_client, three_subscribers):
    assert shown_emails(admin_client, q="gone@") == {"gone@example.com"}


def test_export_action_writes_only_the_selected_subscribers(admin_client, three_subscribers):
    pending, confirmed, _ = three_subscribers
    response = admin_client.post(
        SUBSCRIBERS_URL, {"action": "export_csv", "_selected_action": [pending.pk, confirmed.pk]}
    )
    header, *rows = csv_rows(response)
    assert header[:2] == ["email", "status"]
    assert sorted(row[:2] for row in rows) == [
        ["confirmed@example.com", "confirmed"],
        ["pending@example.com", "pending"],
    ]


def test_export_all_writes_every_subscriber(admin_client, three_subscribers):
    assert "Export all as CSV" in admin_client.get(SUBSCRIBERS_URL).content.decode()
    header, *rows = csv_rows(admin_client.get(EXPORT_URL))
    assert header[0] == "email"
    assert {row[0] for row in rows} == {
        "pending@example.com",
        "confirmed@example.com",
        "gone@example.com",
    }


def test_export_defuses_an_address_a_spreadsheet_would_run(admin_client, make_subscriber):
    make_subscriber("=1+1@example.com")
    _, row = csv_rows(admin_client.get(EXPORT_URL))
    assert row[0] == "'=1+1@example.com"


def test_authors_cannot_see_subscribers_or_deliveries(authors_client, three_subscribers):
    assert authors_client.get(SUBSCRIBERS_URL).status_code == 403
    assert authors_client.get(EXPORT_URL).status_code == 403
    assert authors_client.get(DELIVERIES_URL).status_code == 403


def test_admin_index_hides_subscribers_from_authors(authors_client):
    content = authors_client.get(reverse("admin:index")).content.decode()
    assert "Newsletter issues" in content
    assert "Subscribers" not in content
    assert "Deliveries" not in content


def test_authors_see_issue_progress_without_addresses(authors_client, make_post, readers):
    services.send_post(make_post())
    response = authors_client.get(ISSUES_URL)
    content = response.content.decode()
    assert response.status_code == 200
    assert '<td class="field-queued">2</td>' in content
    assert "@example.com" not in content


def test_staff_without_groups_cannot_see_subscribers(staff_client, three_subscribers):
    assert staff_client.get(SUBSCRIBERS_URL).status_code == 403
    assert staff_client.get(EXPORT_URL).status_code == 403


def test_superuser_sees_every_newsletter_page(admin_client, make_post, readers):
    issue = services.send_post(make_post())
    for url in [
        SUBSCRIBERS_URL,
        EXPORT_URL,
        ISSUES_URL,
        DELIVERIES_URL,
        issue.get_absolute_url(),
    ]:
        assert admin_client.get(url).status_code == 200, url
    assert "Subscribers" in admin_client.get(reverse("admin:index")).content.decode()


def test_send_action_queues_one_delivery_per_confirmed_subscriber(
    authors_client, make_post, readers
):
    post = make_post()
    response = run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    assert messages_on(response) == [("success", f"Sending “{post.title}” to 2 subscriber(s).")]
    issue = NewsletterIssue.objects.get()
    assert {delivery.subscriber for delivery in issue.deliveries.all()} == set(readers)


def test_sent_issue_reaches_each_confirmed_subscriber_once(
    authors_client, make_post, readers, run_tasks
):
    post = make_post(title="Leases, not locks")
    run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    run_tasks()
    for address in ["ann@example.com", "bob@example.com"]:
        assert [message.subject for message in emails_to(address)] == ["Leases, not locks"]
    assert emails_to("waiting@example.com") == []
    assert emails_to("left@example.com") == []


def test_issue_page_shows_progress_before_and_after_sending(
    authors_client, make_post, readers, run_tasks
):
    run_action(authors_client, POSTS_URL, "send_to_subscribers", make_post())
    issue_url = NewsletterIssue.objects.get().get_absolute_url()
    assert "2 queued, 0 sent" in authors_client.get(issue_url).content.decode()
    run_tasks()
    assert "0 queued, 2 sent" in authors_client.get(issue_url).content.decode()


def test_sending_a_post_twice_warns_instead_of_sending_again(authors_client, make_post, readers):
    post = make_post()
    run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    response = run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    [(level, text)] = messages_on(response)
    assert level == "warning"
    assert "Send again" in text
    assert NewsletterIssue.objects.count() == 1


def test_already_sent_warning_gives_the_time_in_the_site_time_zone(
    authors_client, make_post, readers, settings
):
    settings.TIME_ZONE = "Pacific/Auckland"
    post = make_post()
    run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    sent_at = timezone.localtime(NewsletterIssue.objects.get().created_at)
    response = run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    [(_, text)] = messages_on(response)
    assert f"already sent on {sent_at:%Y-%m-%d %H:%M}" in text


def test_send_again_action_makes_a_second_issue(authors_client, make_post, readers):
    post = make_post()
    run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    response = run_action(authors_client, POSTS_URL, "send_again_to_subscribers", post)
    assert [level for level, _ in messages_on(response)] == ["success"]
    assert NewsletterIssue.objects.filter(post=post).count() == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Post.Status.DRAFT},
        {"published_at": timezone.now() + timedelta(days=2)},
    ],
    ids=["draft", "scheduled"],
)
def test_unpublished_post_is_not_sent(authors_client, make_post, readers, fields):
    post = make_post(**fields)
    response = run_action(authors_client, POSTS_URL, "send_to_subscribers", post)
    assert messages_on(response) == [
        ("error", f"“{post.title}” is not published yet, so it was not sent.")
    ]
    assert not NewsletterIssue.objects.exists()


def test_send_actions_need_permission_to_add_issues(staff_client, author, make_post):
    author.user_permissions.add(*Permission.objects.filter(content_type__app_label="blog"))
    make_post()
    response = staff_client.get(POSTS_URL)
    assert response.status_code == 200
    actions = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert "publish_now" in actions
    assert "send_to_subscribers" not in actions
    assert "send_again_to_subscribers" not in actions


def test_send_action_posted_without_permission_sends_nothing(staff_client, author, make_post):
    author.user_permissions.add(*Permission.objects.filter(content_type__app_label="blog"))
    post = make_post()
    response = run_action(staff_client, POSTS_URL, "send_to_subscribers", post)
    assert messages_on(response) == [("warning", "No action selected.")]
    assert not NewsletterIssue.objects.exists()


def test_resume_sending_action_queues_an_unfinished_issue(
    admin_client, make_post, readers, run_tasks
):
    issue = services.send_post(make_post())
    # A worker killed mid-task leaves its task RUNNING, so no other worker picks it up.
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING)
    response = run_action(admin_client, ISSUES_URL, "resume_sending", issue)
    assert messages_on(response) == [
        ("success", "Resumed sending 1 unfinished newsletter issue(s).")
    ]
    assert DBTaskResult.objects.ready().count() == 1
    run_tasks()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ann@example.com",
        "bob@example.com",
    ]


def test_resume_sending_command_is_safe_to_run_twice(make_post, readers, run_tasks):
    services.send_post(make_post())
    out = io.StringIO()
    call_command("resume_sending", stdout=out)
    call_command("resume_sending", stdout=out)
    assert out.getvalue().count("Resumed sending 1 unfinished newsletter issue(s).") == 2
    assert DBTaskResult.objects.count() == 3
    run_tasks()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ann@example.com",
        "bob@example.com",
    ]


def test_resume_sending_command_is_silent_with_nothing_to_resume_or_at_verbosity_0(
    make_post, readers
):
    out = io.StringIO()
    call_command("resume_sending", stdout=out)
    services.send_post(make_post())
    call_command("resume_sending", verbosity=0, stdout=out)
    assert out.getvalue() == ""
    assert DBTaskResult.objects.count() == 2


def test_post_changelist_shows_when_a_post_was_emailed(admin_client, make_post, readers):
    issue = services.send_post(make_post())
    make_post()
    content = admin_client.get(POSTS_URL).content.decode()
    sent_at = formats.localize(timezone.template_localtime(issue.created_at))
    assert ">Emailed</a>" in content
    assert f'<td class="field-last_sent nowrap">{sent_at}</td>' in content
    assert '<td class="field-last_sent">-</td>' in content


def test_subscriber_list_counts_bounced_and_complained_addresses(admin_client, make_subscriber):
    make_subscriber("kept@example.com")
    make_subscriber("gone@example.com", status=Subscriber.Status.BOUNCED)
    make_subscriber("angry@example.com", status=Subscriber.Status.COMPLAINED)
    page = admin_client.get(reverse("admin:newsletter_subscriber_changelist")).content.decode()
    assert "Bounced (1)" in page
    assert "Complained (marked as spam) (1)" in page
    bounced = admin_client.get(
        reverse("admin:newsletter_subscriber_changelist"), {"status__exact": "bounced"}
    ).content.decode()
    assert "gone@example.com" in bounced
    assert "kept@example.com" not in bounced
