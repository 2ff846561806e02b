from django.core.management.base import BaseCommand

from newsletter import tasks
from newsletter.models import NewsletterIssue


class Command(BaseCommand):
    help = (
        "Queue a send task for every unfinished newsletter issue, e.g. after a worker was killed. "
        "Safe to run any time: a worker that is still sending keeps its issue."
    )

    def handle(self, *args, **options):
        unfinished = list(
            NewsletterIssue.objects.filter(finished_at__isnull=True).values_list("pk", flat=True)
        )
        for issue_id in unfinished:
            tasks.send_issue.enqueue(issue_id)
        self.stdout.write(f"Queued {len(unfinished)} unfinished issue(s).")
