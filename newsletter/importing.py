"""Subscribers from another newsletter service's CSV export.

`import_subscribers(file)` reads a CSV export of Substack, Ghost (members), Mailchimp (an
audience's subscribed, unsubscribed or cleaned file), Buttondown, or any file with an email
column, knowing which by its header row, and adds the addresses that are not on the list yet,
in batches. It never changes a subscriber who is already here (whatever their status), never
adds back an address that was erased (the suppression list), and emails nobody. Each new row
keeps where and when its reader opted in, in the consent record. Rows that will not do are
reported by the file's line number (the header is line 1) and skipped; the rest import.
"""

import codecs
import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from newsletter.models import Subscriber, Suppression, suppression_hashes

BATCH_SIZE = 1000
LISTED_LINES = 50
MAX_EMAIL_LENGTH = 254
Status = Subscriber.Status

validate_email = EmailValidator()


class ImportFileError(Exception):
    """The file as a whole cannot be read: nothing is imported."""


class RowError(Exception):
    """This row cannot be imported; the message says why."""


@dataclass
class Entry:
    """One reader as the export describes them."""

    email: str
    status: str
    opted_in_at: datetime | None = None
    confirmed_at: datetime | None = None
    stopped_at: datetime | None = None
    # Set for a reader who never became a subscriber there: the reason they are skipped.
    not_subscribed: str = ""


@dataclass
class LineList:
    """Lines of the file with what was wrong with each: all counted, the first few kept."""

    count: int = 0
    lines: list = field(default_factory=list)

    def add(self, line, message):
        self.count += 1
        if len(self.lines) < LISTED_LINES:
            self.lines.append((line, message))

    @property
    def more(self):
        return self.count - len(self.lines)


@dataclass
class ImportReport:
    dry_run: bool = False
    format: str = ""
    error: str = ""
    added: dict = field(default_factory=lambda: {status: 0 for status in Status.values})
    already_on_list: int = 0
    suppressed: int = 0
    not_subscribed: LineList = field(default_factory=LineList)
    duplicates: LineList = field(default_factory=LineList)
    invalid: LineList = field(default_factory=LineList)

    @property
    def added_count(self):
        return sum(self.added.values())

    def added_description(self):
        kinds = [
            f"{count} {Status(status).label.lower()}"
            for status, count in self.added.items()
            if count
        ]
        return f"{self.added_count} ({', '.join(kinds)})" if kinds else "0"

    def counts(self):
        """(label, number) for each outcome, in the order the report shows them."""
        return [
            ("Would be added" if self.dry_run else "Added", self.added_description()),
            ("Already on the list, left as they are", self.already_on_list),
            ("Suppressed (erased here, never added back)", self.suppressed),
            ("Not subscribed there, skipped", self.not_subscribed.count),
            ("Duplicates in the file, counted once", self.duplicates.count),
            ("Rows with problems, skipped", self.invalid.count),
        ]

    def sections(self):
        """(title, LineList) for each list of lines the report names."""
        return [
            ("Rows with problems", self.invalid),
            ("Duplicates", self.duplicates),
            ("Not subscribed there", self.not_subscribed),
        ]

    def text_lines(self):
        """The report as lines of plain text, as the command prints it."""
        if self.error:
            return [self.error]
        lines = [f"Format: {self.format}."]
        lines += [f"{label}: {number}." for label, number in self.counts()]
        for title, found in self.sections():
            if found.count:
                lines.append(f"{title}:")
                lines += [f"  line {line}: {message}" for line, message in found.lines]
                if found.more:
                    lines.append(f"  … and {found.more} more.")
        if self.dry_run:
            lines.append("Dry run: nothing was saved.")
        return lines


def import_subscribers(file, *, dry_run=False):
    """Import the CSV export `file` (bytes, or a binary file such as an upload), all or nothing
    should the file turn out unreadable part way; return the ImportReport."""
    report = ImportReport(dry_run=dry_run)
    now = timezone.now()
    lines = _decoded_lines([file] if isinstance(file, bytes) else file)
    reader = csv.reader(lines)
    try:
        with transaction.atomic():
            provider, columns = _read_header(reader)
            report.format = provider.label
            _import_rows(reader, columns, provider, report, now, dry_run=dry_run)
    except ImportFileError as error:
        return ImportReport(dry_run=dry_run, format=report.format, error=str(error))
    except csv.Error as error:
        message = f"Line {reader.line_num} could not be read as CSV ({error})."
        return ImportReport(dry_run=dry_run, format=report.format, error=message)
    return report


def _decoded_lines(chunks):
    """The file's lines as text, UTF-8 with or without a byte order mark: anything else is
    refused rather than guessed, since a wrong guess would store garbled addresses."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    for number, raw in enumerate(_split_lines(chunks), start=1):
        if number == 1 and raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            raise ImportFileError(
                "The file is UTF-16 text: export or save it again as CSV in UTF-8."
            )
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError:
            raise ImportFileError(
                f"The file is not UTF-8 text (line {number} is not): export or save it again "
                "as CSV in UTF-8 (in Excel, “CSV UTF-8”). Nothing was imported."
            ) from None


def _split_lines(chunks):
    # Iterating a binary file (or a Django upload) yields its lines, line endings kept.
    for chunk in chunks:
        yield from chunk.splitlines(keepends=True)


# Providers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    label: str
    name: str  # for the consent record: "Imported from {name} on …"
    email_column: str
    read: object  # row -> Entry, the row a dict of its cells by lowercased column name
    columns: frozenset = frozenset()
    consent_wording: str = ""

    def wording(self):
        return self.consent_wording or (
            f"They subscribed at {self.name}, not through this site's form; imported from its "
            "export."
        )

    def matches(self, columns):
        return self.email_column in columns and self.columns <= columns


def _boolean(row, column):
    value = row.get(column, "").strip().lower()
    if value not in {"true", "false"}:
        raise RowError(f"{column} is “{_shown(value)}”, not true or false.")
    return value == "true"


def _when(row, column):
    """The column's date and time, aware (a time without a zone is UTC, as the exports write
    theirs), or None when the cell is empty."""
    value = row.get(column, "").strip()
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time())
    except ValueError:
        moment = None
    if moment is None:
        raise RowError(f"{column} is “{_shown(value)}”, not a date.")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def _read_ghost(row):
    joined = _when(row, "created_at")
    deleted = _when(row, "deleted_at")
    subscribed = _boolean(row, "subscribed_to_emails") and deleted is None
    return Entry(
        email=row["email"],
        status=Status.CONFIRMED if subscribed else Status.UNSUBSCRIBED,
        opted_in_at=joined,
        confirmed_at=joined,
        stopped_at=deleted,
    )


def _read_substack(row):
    joined = _when(row, "created_at")
    email = row["email"]
    if email.strip().lower().endswith("@deletion-request.substack.com"):
        return Entry(email, Status.UNSUBSCRIBED, not_subscribed="a reader deleted at Substack")
    # Substack exports "email_disabled": true for a reader who turned its emails off.
    stopped = _boolean(row, "email_disabled")
    return Entry(
        email=email,
        status=Status.UNSUBSCRIBED if stopped else Status.CONFIRMED,
        opted_in_at=joined,
        confirmed_at=joined,
    )


def _mailchimp_reader(status, stopped_column=None):
    def read(row):
        opted_in = _when(row, "optin_time")
        confirmed = _when(row, "confirm_time")
        return Entry(
            email=row["email address"],
            status=status,
            opted_in_at=opted_in or confirmed,
            confirmed_at=confirmed or opted_in,
            stopped_at=_when(row, stopped_column) if stopped_column else None,
        )

    return read


BUTTONDOWN_TYPES = {
    **dict.fromkeys(
        ["regular", "premium", "trialed", "unpaid", "gifted", "churning", "paused", "past_due"],
        Status.CONFIRMED,
    ),
    "unsubscribed": Status.UNSUBSCRIBED,
    "removed": Status.UNSUBSCRIBED,
    "undeliverable": Status.BOUNCED,
    "complained": Status.COMPLAINED,
}
BUTTONDOWN_NOT_SUBSCRIBED = {
    "unactivated": "never confirmed at Buttondown",
    "spammy": "marked as spam by Buttondown",
}


def _buttondown_reader(email_column, type_column):
    def read(row):
        kind = row.get(type_column, "").strip().lower()
        joined = _when(row, "creation_date")
        if kind in BUTTONDOWN_NOT_SUBSCRIBED:
            return Entry(
                row[email_column], Status.PENDING, not_subscribed=BUTTONDOWN_NOT_SUBSCRIBED[kind]
            )
        if kind not in BUTTONDOWN_TYPES:
            raise RowError(f"{type_column} is “{_shown(kind)}”, which is not a known type.")
        status = BUTTONDOWN_TYPES[kind]
        stopped = None
        if status == Status.UNSUBSCRIBED:
            stopped = _when(row, "unsubscription_date")
        elif status == Status.BOUNCED:
            stopped = _when(row, "undeliverability_date")
        return Entry(
            row[email_column], status, opted_in_at=joined, confirmed_at=joined, stopped_at=stopped
        )

    return read


def _plain_reader(email_column):
    def read(row):
        return Entry(row[email_column], Status.CONFIRMED)

    return read


MAILCHIMP_COLUMNS = frozenset({"optin_time", "confirm_time"})
PROVIDERS = [
    # Mailchimp's audience export is three files told apart by the columns only one of them has.
    Provider(
        "Mailchimp audience export (cleaned)",
        "Mailchimp",
        "email address",
        _mailchimp_reader(Status.BOUNCED, "clean_time"),
        MAILCHIMP_COLUMNS | {"clean_time"},
    ),
    Provider(
        "Mailchimp audience export (unsubscribed)",
        "Mailchimp",
        "email address",
        _mailchimp_reader(Status.UNSUBSCRIBED, "unsub_time"),
        MAILCHIMP_COLUMNS | {"unsub_time"},
    ),
    Provider(
        "Mailchimp audience export (subscribed)",
        "Mailchimp",
        "email address",
        _mailchimp_reader(Status.CONFIRMED),
        MAILCHIMP_COLUMNS,
    ),
    Provider(
        "Ghost members export",
        "Ghost",
        "email",
        _read_ghost,
        frozenset({"subscribed_to_emails", "complimentary_plan", "created_at"}),
    ),
    Provider(
        "Substack subscriber export",
        "Substack",
        "email",
        _read_substack,
        frozenset({"email_disabled", "created_at"}),
    ),
    *[
        Provider(
            "Buttondown subscriber export",
            "Buttondown",
            email_column,
            _buttondown_reader(email_column, type_column),
            frozenset({"creation_date", type_column}),
        )
        for email_column in ["email", "email_address"]
        for type_column in ["subscriber_type", "type"]
    ],
    *[
        Provider(
            "A list of addresses (an email column)",
            "a CSV file",
            column,
            _plain_reader(column),
            consent_wording="They agreed to get it somewhere else than this site's form; "
            "imported from a list of addresses.",
        )
        for column in ["email", "email address", "email_address", "e-mail"]
    ],
]


def _read_header(reader):
    header = next(reader, None)
    while header is not None and not any(cell.strip() for cell in header):
        header = next(reader, None)
    if header is None:
        raise ImportFileError("The file is empty.")
    columns = {cell.strip().lower() for cell in header}
    provider = next((p for p in PROVIDERS if p.matches(columns)), None)
    if provider is None:
        found = ", ".join(f"“{_shown(cell.strip())}”" for cell in header if cell.strip())
        raise ImportFileError(
            f"The file has no email column. Its first line has the columns {found}; a "
            "column named “email” (or “Email Address”) is needed."
        )
    return provider, [cell.strip().lower() for cell in header]


# Importing ------------------------------------------------------------------------------------


def _import_rows(reader, columns, provider, report, now, *, dry_run):
    first_line_of = {}  # lowercased address -> the line that had it first
    batch = []
    last_line = reader.line_num
    for cells in reader:
        line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        # A short row lacks its last cells: they read as empty.
        cells += [""] * (len(columns) - len(cells))
        row = dict(zip(columns, cells, strict=False))
        try:
            email = _checked_email(row[provider.email_column])
            entry = provider.read(row)
            entry.email = email
        except RowError as error:
            report.invalid.add(line, str(error))
            continue
        key = entry.email.lower()
        if key in first_line_of:
            report.duplicates.add(line, f"{entry.email} is on line {first_line_of[key]} too.")
            continue
        first_line_of[key] = line
        if entry.not_subscribed:
            report.not_subscribed.add(line, f"{entry.email}: {entry.not_subscribed}.")
            continue
        batch.append(entry)
        if len(batch) >= BATCH_SIZE:
            _store(batch, provider, report, now, dry_run=dry_run)
            batch = []
    if batch:
        _store(batch, provider, report, now, dry_run=dry_run)


def _checked_email(value):
    email = (value or "").strip()
    if not email:
        raise RowError("there is no address.")
    if len(email) > MAX_EMAIL_LENGTH:
        raise RowError(f"the address is longer than {MAX_EMAIL_LENGTH} characters.")
    try:
        validate_email(email)
    except ValidationError:
        raise RowError(f"“{_shown(email)}” is not a valid email address.") from None
    return email


def _store(batch, provider, report, now, *, dry_run):
    """Add the batch's new addresses: three queries, however long the batch."""
    on_list = _already_on_list([entry.email for entry in batch])
    hashes = {entry.email: suppression_hashes(entry.email) for entry in batch}
    suppressed = set(
        Suppression.objects.filter(
            address_hash__in=[value for values in hashes.values() for value in values]
        ).values_list("address_hash", flat=True)
    )
    new = []
    for entry in batch:
        if entry.email.lower() in on_list:
            report.already_on_list += 1
        elif suppressed.intersection(hashes[entry.email]):
            report.suppressed += 1
        else:
            report.added[entry.status] += 1
            new.append(entry)
    if new and not dry_run:
        # A conflict can only be an address added since the check; it is left as it is too.
        Subscriber.objects.bulk_create(
            [_subscriber(entry, provider, now) for entry in new], ignore_conflicts=True
        )


def _already_on_list(emails):
    """The lowercased addresses among `emails` that a subscriber has, compared ignoring case
    as the unique index does."""
    ascii_emails = [email.lower() for email in emails if email.isascii()]
    found = set(
        Subscriber.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=ascii_emails)
        .values_list("email_lower", flat=True)
    )
    # SQLite's lower() leaves letters beyond ASCII as they are, so Python's lower() may not
    # match it: the rare such address is looked up the database's way, on its own.
    for email in emails:
        if not email.isascii() and Subscriber.objects.with_email(email).exists():
            found.add(email.lower())
    return found


def _subscriber(entry, provider, now):
    imported_on = timezone.localdate(now).isoformat()
    if entry.opted_in_at:
        when = f"opted in there on {timezone.localdate(entry.opted_in_at).isoformat()}"
    else:
        when = "the file does not say when they opted in"
    confirmed_at = entry.confirmed_at
    if entry.status == Status.CONFIRMED:
        confirmed_at = confirmed_at or entry.opted_in_at or now
    return Subscriber(
        email=entry.email,
        status=entry.status,
        consent_at=entry.opted_in_at or now,
        consent_page="",
        consent_wording=provider.wording(),
        consent_source=f"Imported from {provider.name} on {imported_on}; {when}"[:300],
        confirmed_at=confirmed_at,
        unsubscribed_at=entry.stopped_at if entry.status in Subscriber.STOPPED else None,
    )


def _shown(value, limit=60):
    """A cell's text cut short for a message."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
