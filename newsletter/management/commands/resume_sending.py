from django.core.management.base import BaseCommand

from newsletter import tasks
from newsletter.models import NewsletterIssue


class Command(BaseCommand):
    help = (
        "Queue a send task for every unfinished newsletter issue, e.g. after a worker was killed. "
        "Safe to run any time: a worker that is still sending keeps its issue."
    )

    def handle(self, *args, verbosity, **options):
        unfinished = list(
            NewsletterIssue.objects.filter(finished_at__isnull=True).values_list("pk", flat=True)
        )
        for issue_id in unfinished:
            tasks.send_issue.enqueue(issue_id)
        # Quiet when there was nothing to do: `make run` and the compose worker run it every start.
        if unfinished and verbosity >= 1:
            self.stdout.write(f"Resumed sending {len(unfinished)} unfinished newsletter issue(s).")
        elif verbosity >= 2:
            self.stdout.write("No unfinished newsletter issues.")
