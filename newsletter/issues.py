"""Making issues: a post rendered for email once, with a queued delivery per subscriber.

The sending itself is `newsletter.sending`; queueing it is the caller's (`services`, `tasks`).
"""

from django.utils import timezone

from blog.models import Post
from core.site import absolute_url
from newsletter import emails
from newsletter.models import Delivery, NewsletterIssue, PlannedSend, Subscriber


class NotPublic(Exception):
    pass


class AlreadySent(Exception):
    def __init__(self, issue):
        super().__init__(f"issue {issue.pk} already sent this post")
        self.issue = issue


def issue_content(post, *, user=None):
    """The issue of `post` as subscribers would get it, not saved: also the author's preview."""
    return NewsletterIssue(
        post=post,
        subject=post.title,
        post_url=absolute_url(post.get_absolute_url()),
        html_body=emails.inline_styled(post.body_html),
        text_body=emails.absolute_markdown_links(post.body),
        created_by=user,
    )


def create_issue(post, subscribers, *, user=None):
    """An issue of `post`, rendered for email once, with one queued delivery per subscriber."""
    issue = issue_content(post, user=user)
    issue.save()
    subscriber_ids = subscribers.order_by("pk").values_list("pk", flat=True)
    Delivery.objects.bulk_create(
        (Delivery(issue=issue, subscriber_id=pk) for pk in subscriber_ids.iterator()),
        batch_size=1000,
    )
    issue.recipient_count = issue.deliveries.count()
    issue.save(update_fields=["recipient_count"])
    return issue


def new_issue(post, *, user=None, again=False):
    """The issue for sending `post` to the confirmed subscribers who want it, in the caller's
    transaction.
    A post already sent raises AlreadySent unless `again` says the author means it."""
    if not Post.objects.published().filter(pk=post.pk).exists():
        raise NotPublic
    # Serialises two authors (or an author and a scheduled send) sending the same post.
    Post.objects.select_for_update().filter(pk=post.pk).first()
    previous = NewsletterIssue.objects.filter(post=post).first()
    if previous is not None and not again:
        raise AlreadySent(previous)
    return create_issue(post, Subscriber.objects.recipients_of(post), user=user)


def take_planned_send(post_id):
    """The issue of a planned send whose time has come, made once: (what happened, issue or
    None). Call it in a transaction; the row is deleted as the issue is made."""
    plan = (
        PlannedSend.objects.select_for_update()
        .filter(post_id=post_id)
        .select_related("post")
        .first()
    )
    if plan is None:
        return "nothing planned", None
    if plan.send_at is None or plan.send_at > timezone.now():
        # Moved later (or back to draft and kept for later): a newer task runs at the new time.
        return "not due", None
    plan.delete()
    try:
        issue = new_issue(plan.post, user=plan.planned_by)
    except NotPublic:
        return "not public", None
    except AlreadySent:
        return "already sent", None
    return "issue made", issue
