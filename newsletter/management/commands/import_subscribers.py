from django.core.management.base import BaseCommand, CommandError

from newsletter.importing import import_subscribers


class Command(BaseCommand):
    help = (
        "Add subscribers from a CSV export of Substack, Ghost (members), Mailchimp (subscribed, "
        "unsubscribed or cleaned), Buttondown, or any CSV file with an email column, told apart "
        "by its header row. Addresses already on the list (whatever their status) and erased "
        "ones are left out, nobody is emailed, and running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file, in UTF-8.")
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Read the file and report what would happen, saving nothing.",
        )  # fmt: skip

    def handle(self, *args, file, dry_run, **options):
        try:
            with open(file, "rb") as export:
                report = import_subscribers(export, dry_run=dry_run)
        except OSError as error:
            raise CommandError(f"{file} could not be opened: {error.strerror}.") from None
        if report.error:
            raise CommandError(report.error)
        for line in report.text_lines():
            self.stdout.write(line)
