import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from newsletter.admin import subscribers_csv
from newsletter.importing import import_subscribers
from newsletter.models import Subscriber, Suppression
from tests.chromium import launched_chromium, needs_chromium

SAMPLES = Path(__file__).parent / "data" / "subscriber_imports"
IMPORT_URL = reverse("admin:newsletter_subscriber_import")
SUBSCRIBERS_URL = reverse("admin:newsletter_subscriber_changelist")
EXPORT_URL = reverse("admin:newsletter_subscriber_export")
IMPORT_DAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
Status = Subscriber.Status
SCROLLS_SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth"


def sample(name):
    return (SAMPLES / name).read_bytes()


def import_sample(name, **options):
    return import_subscribers(sample(name), **options)


def subscriber(email):
    return Subscriber.objects.with_email(email).get()


def statuses():
    return dict(Subscriber.objects.values_list("email", "status"))


def on(year, month, day, *time):
    return datetime(year, month, day, *time, tzinfo=UTC)


def every_field():
    return list(Subscriber.objects.order_by("id").values())


# Formats -----------------------------------------------------------------------------------


def test_ghost_members_export_adds_each_member_with_their_signup_time(db):
    report = import_sample("ghost_members.csv")

    assert report.format == "Ghost members export"
    assert statuses() == {
        "ada@example.com": Status.CONFIRMED,
        "grace@example.org": Status.CONFIRMED,
        "quiet.reader@example.net": Status.UNSUBSCRIBED,
        "Katherine.Johnson@Example.com": Status.CONFIRMED,
    }
    ada = subscriber("ada@example.com")
    assert ada.consent_at == ada.confirmed_at == on(2024, 3, 1, 9, 15)
    assert subscriber("quiet.reader@example.net").unsubscribed_at is None


def test_substack_export_stops_readers_who_turned_emails_off_and_skips_deleted_ones(db):
    report = import_sample("substack_subscribers.csv")

    assert report.format == "Substack subscriber export"
    assert statuses() == {
        "free.reader@example.com": Status.CONFIRMED,
        "paying.reader@example.org": Status.CONFIRMED,
        "emails.off@example.net": Status.UNSUBSCRIBED,
        "founding.member@example.com": Status.CONFIRMED,
    }
    assert subscriber("free.reader@example.com").consent_at == on(2021, 4, 3, 14, 22, 5, 118000)
    assert report.not_subscribed.lines == [
        (6, "7f3c9a1e@deletion-request.substack.com: a reader deleted at Substack.")
    ]


def test_mailchimp_subscribed_file_keeps_opt_in_and_confirm_times(db):
    with time_machine.travel(IMPORT_DAY, tick=False):
        report = import_sample("mailchimp_subscribed.csv")

    assert report.format == "Mailchimp audience export (subscribed)"
    assert set(statuses().values()) == {Status.CONFIRMED}
    first = subscriber("mc.one@example.com")
    assert first.consent_at == on(2018, 2, 5, 19, 28, 22)
    assert first.confirmed_at == on(2018, 2, 5, 19, 30, 1)
    # Mailchimp leaves the times empty for contacts that were imported into it.
    imported_there = subscriber("mc.three@example.net")
    assert imported_there.consent_at == imported_there.confirmed_at == IMPORT_DAY


def test_mailchimp_unsubscribed_file_keeps_when_they_left(db):
    report = import_sample("mailchimp_unsubscribed.csv")

    assert report.format == "Mailchimp audience export (unsubscribed)"
    assert set(statuses().values()) == {Status.UNSUBSCRIBED}
    left = subscriber("mc.left@example.com")
    assert left.unsubscribed_at == on(2018, 7, 23, 12, 19, 27)
    assert left.consent_at == on(2018, 2, 12, 10, 54, 27)


def test_mailchimp_cleaned_file_adds_bounced_addresses_with_when_they_were_cleaned(db):
    report = import_sample("mailchimp_cleaned.csv")

    assert report.format == "Mailchimp audience export (cleaned)"
    assert report.added_description() == "2 (2 bounced)"
    assert set(statuses().values()) == {Status.BOUNCED}
    assert subscriber("mc.bounced@example.com").unsubscribed_at == on(2020, 3, 23, 17, 30, 5)


def test_buttondown_export_maps_each_subscriber_type(db):
    report = import_sample("buttondown_subscribers.csv")

    assert report.format == "Buttondown subscriber export"
    assert statuses() == {
        "bd.regular@example.com": Status.CONFIRMED,
        "bd.paid@example.org": Status.CONFIRMED,
        "bd.left@example.net": Status.UNSUBSCRIBED,
        "bd.bounced@example.com": Status.BOUNCED,
    }
    assert subscriber("bd.left@example.net").unsubscribed_at == on(2023, 1, 9, 12)
    assert subscriber("bd.bounced@example.com").unsubscribed_at == on(2024, 2, 2, 2, 2, 2)
    assert report.not_subscribed.lines == [
        (6, "bd.waiting@example.org: never confirmed at Buttondown.")
    ]


def test_a_plain_list_of_addresses_adds_confirmed_subscribers_as_of_the_import(db):
    with time_machine.travel(IMPORT_DAY, tick=False):
        report = import_sample("plain_addresses.csv")

    assert report.format == "A list of addresses (an email column)"
    assert statuses() == dict.fromkeys(
        ["first@example.com", "second@example.org", "third@example.net"], Status.CONFIRMED
    )
    first = subscriber("first@example.com")
    assert first.consent_at == first.confirmed_at == IMPORT_DAY
    assert first.consent_source == (
        "Imported from a CSV file on 2026-12-02; the file does not say when they opted in"
    )


def test_consent_record_says_where_and_when_they_opted_in(db):
    with time_machine.travel(IMPORT_DAY, tick=False):
        import_sample("ghost_members.csv")

    ada = subscriber("ada@example.com")
    assert ada.consent_source == "Imported from Ghost on 2026-12-02; opted in there on 2024-03-01"
    assert ada.consent_page == ""
    assert "at Ghost, not through this site's form" in ada.consent_wording
    assert ada.created_at == IMPORT_DAY


def test_a_plain_list_may_call_its_column_email_address_in_any_case(db):
    import_subscribers(b"Name,E-Mail Address\nAnn,ann@example.com\n".replace(b"E-Mail", b"EMAIL"))

    assert statuses() == {"ann@example.com": Status.CONFIRMED}


# Nobody resubscribed, nothing sent ---------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(db):
    import_sample("buttondown_subscribers.csv")
    before = every_field()

    report = import_sample("buttondown_subscribers.csv")

    assert every_field() == before
    assert report.added_count == 0
    assert report.already_on_list == 4


def test_an_erased_address_is_never_imported_back(db):
    Suppression.add("grace@example.org")
    Suppression.add("ADA@example.com")

    report = import_sample("ghost_members.csv")

    assert report.suppressed == 2
    assert not Subscriber.objects.with_email("grace@example.org").exists()
    assert not Subscriber.objects.with_email("ada@example.com").exists()
    assert Subscriber.objects.count() == 2


def test_an_address_that_unsubscribed_here_is_not_resubscribed(db, make_subscriber):
    gone = make_subscriber("ADA@example.com", Status.UNSUBSCRIBED)
    before = every_field()[0]

    report = import_sample("ghost_members.csv")

    assert report.already_on_list == 1
    gone.refresh_from_db()
    assert gone.status == Status.UNSUBSCRIBED
    assert Subscriber.objects.filter(pk=gone.pk).values().get() == before


def test_a_bounced_or_pending_subscriber_here_is_left_as_they_are(db, make_subscriber):
    make_subscriber("bd.regular@example.com", Status.BOUNCED)
    make_subscriber("bd.paid@example.org", Status.PENDING)

    import_sample("buttondown_subscribers.csv")

    assert statuses()["bd.regular@example.com"] == Status.BOUNCED
    assert statuses()["bd.paid@example.org"] == Status.PENDING


def test_an_import_emails_nobody(db):
    for name in ["ghost_members.csv", "mailchimp_subscribed.csv", "plain_addresses.csv"]:
        import_sample(name)

    assert Subscriber.objects.count() == 10
    assert mail.outbox == []


def test_dry_run_reports_what_would_happen_and_stores_nothing(db, make_subscriber):
    make_subscriber("ada@example.com")
    Suppression.add("grace@example.org")

    report = import_sample("ghost_members.csv", dry_run=True)

    assert Subscriber.objects.count() == 1
    assert report.dry_run
    assert report.added_description() == "2 (1 confirmed, 1 unsubscribed)"
    assert report.already_on_list == 1
    assert report.suppressed == 1
    assert "Dry run: nothing was saved." in report.text_lines()
    real = import_sample("ghost_members.csv")
    assert real.counts()[1:] == report.counts()[1:]
    assert real.added == report.added


# Bad input ---------------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_one_clear_error_and_imports_nothing(db):
    latin1 = "email\nann@example.com\nbob@example.com\njosé@example.com\n".encode("latin-1")

    report = import_subscribers(latin1)

    assert report.error.startswith("The file is not UTF-8 text (line 4 is not)")
    assert Subscriber.objects.count() == 0


def test_a_utf16_file_is_refused_with_what_to_do(db):
    report = import_subscribers("email\r\nann@example.com\r\n".encode("utf-16"))

    assert report.error == "The file is UTF-16 text: export or save it again as CSV in UTF-8."


def test_utf8_with_a_byte_order_mark_is_read(db):
    report = import_subscribers("\ufeffemail\r\nann@example.com\r\n".encode())

    assert report.format == "A list of addresses (an email column)"
    assert statuses() == {"ann@example.com": Status.CONFIRMED}


def test_a_file_without_an_email_column_names_the_columns_it_has(db):
    report = import_subscribers(b"name,address\nAnn,ann@example.com\n")

    assert report.error == (
        "The file has no email column. Its first line has the columns “name”, “address”; "
        "a column named “email” (or “Email Address”) is needed."
    )
    assert Subscriber.objects.count() == 0


def test_an_empty_file_says_so(db):
    assert import_subscribers(b"").error == "The file is empty."


def test_invalid_addresses_and_dates_are_reported_by_their_line_in_the_file(db):
    ghost = sample("ghost_members.csv").decode().splitlines()
    rows = [
        ghost[0],
        # A quoted note over two lines: the next row starts on line 4.
        'm1,ann@example.com,Ann,"first line\nsecond line",true,false,,2024-01-01T00:00:00Z,,,',
        "m2,not-an-address,Bad,,true,false,,2024-01-01T00:00:00Z,,,",
        "m3,bob@example.com,Bob,,true,false,,the day before yesterday,,,",
        "m4,,Nobody,,true,false,,2024-01-01T00:00:00Z,,,",
        "m5,cy@example.com,Cy,,maybe,false,,2024-01-01T00:00:00Z,,,",
        f"m6,{'x' * 250}@example.com,Long,,true,false,,2024-01-01T00:00:00Z,,,",
        "m7,dee@example.com,Dee,,true,false,,2024-02-30T00:00:00Z,,,",
        "m8,eve@example.com,Eve,,true,false,,2024-01-01T00:00:00Z,,,",
        "m9",
    ]

    report = import_subscribers("\n".join(rows).encode())

    assert set(statuses()) == {"ann@example.com", "eve@example.com"}
    assert report.invalid.lines == [
        (4, "“not-an-address” is not a valid email address."),
        (5, "created_at is “the day before yesterday”, not a date."),
        (6, "there is no address."),
        (7, "subscribed_to_emails is “maybe”, not true or false."),
        (8, "the address is longer than 254 characters."),
        (9, "created_at is “2024-02-30T00:00:00Z”, not a date."),
        (11, "there is no address."),
    ]


def test_duplicate_addresses_are_counted_once_and_later_lines_reported(db):
    report = import_subscribers(
        b"email\nann@example.com\nbob@example.com\nANN@example.com\nann@example.com\n"
    )

    assert report.added_count == 2
    assert report.duplicates.count == 2
    assert report.duplicates.lines == [
        (4, "ANN@example.com is on line 2 too."),
        (5, "ann@example.com is on line 2 too."),
    ]
    assert subscriber("ann@example.com").email == "ann@example.com"


def test_formulas_in_cells_are_never_run_only_stored_or_refused_as_text(db, admin_client):
    report = import_subscribers(
        b"email,name\n"
        b"\"=cmd|' /C calc'!A0\",Calc\n"
        b'"=HYPERLINK(""http://evil.example/"",""x"")",Link\n'
        b"@SUM(1+1)*cmd|' /C calc'!A0,At\n"
        b"=1+1@example.com,An odd but valid address\n"
        b"ann@example.com,=cmd|' /C calc'!A0\n"
    )

    assert [line for line, _ in report.invalid.lines] == [2, 3, 4]
    assert set(statuses()) == {"=1+1@example.com", "ann@example.com"}
    exported = list(csv.reader(io.StringIO(admin_client.get(EXPORT_URL).content.decode())))
    assert {row[0] for row in exported[1:]} == {"'=1+1@example.com", "ann@example.com"}


def test_at_most_fifty_problem_lines_are_listed_and_the_rest_counted(db):
    rows = ["email"] + [f"bad-address-{number}" for number in range(75)]

    report = import_subscribers("\n".join(rows).encode())

    assert report.invalid.count == 75
    assert len(report.invalid.lines) == 50
    assert report.invalid.lines[-1][0] == 51
    assert "  … and 25 more." in report.text_lines()


def test_a_cell_too_big_for_csv_is_one_clear_error(db):
    report = import_subscribers(b"email,note\nann@example.com,\nbob@example.com," + b"x" * 200_000)

    assert report.error.startswith("Line 3 could not be read as CSV (field larger than")
    assert Subscriber.objects.count() == 0


def test_a_hundred_thousand_rows_import_in_batches(db, make_subscriber):
    make_subscriber("reader42@example.com", Status.UNSUBSCRIBED)
    Suppression.add("reader99@example.com")
    rows = ["email,name"] + [f"reader{number}@example.com,Reader" for number in range(100_000)]
    rows[500] = "reader7@example.com,Again"
    rows[600] = "not an address,Bad"

    queries = []
    with connection.execute_wrapper(lambda execute, *args: queries.append(1) or execute(*args)):
        report = import_subscribers("\n".join(rows).encode())

    assert report.added_count == 100_000 - 4
    assert (report.already_on_list, report.suppressed) == (1, 1)
    assert report.duplicates.lines == [(501, "reader7@example.com is on line 9 too.")]
    assert report.invalid.lines == [(601, "“not an address” is not a valid email address.")]
    assert Subscriber.objects.count() == 100_000 - 3
    # A few queries for each batch of rows, none for each row.
    assert len(queries) < 100_000 / 50


# The command -------------------------------------------------------------------------------


def test_command_prints_the_report(db):
    out = io.StringIO()

    call_command("import_subscribers", str(SAMPLES / "substack_subscribers.csv"), stdout=out)

    assert out.getvalue().splitlines() == [
        "Format: Substack subscriber export.",
        "Added: 4 (3 confirmed, 1 unsubscribed).",
        "Already on the list, left as they are: 0.",
        "Suppressed (erased here, never added back): 0.",
        "Not subscribed there, skipped: 1.",
        "Duplicates in the file, counted once: 0.",
        "Rows with problems, skipped: 0.",
        "Not subscribed there:",
        "  line 6: 7f3c9a1e@deletion-request.substack.com: a reader deleted at Substack.",
    ]
    assert Subscriber.objects.count() == 4


def test_command_dry_run_saves_nothing_and_says_so(db):
    out = io.StringIO()

    call_command(
        "import_subscribers", str(SAMPLES / "mailchimp_cleaned.csv"), "--dry-run", stdout=out
    )

    lines = out.getvalue().splitlines()
    assert "Would be added: 2 (2 bounced)." in lines
    assert lines[-1] == "Dry run: nothing was saved."
    assert Subscriber.objects.count() == 0


def test_command_fails_clearly_on_a_file_it_cannot_use(db, tmp_path):
    export = tmp_path / "people.csv"
    export.write_bytes(b"name\nAnn\n")

    with pytest.raises(CommandError, match="The file has no email column"):
        call_command("import_subscribers", str(export))
    with pytest.raises(CommandError, match="could not be opened: No such file or directory"):
        call_command("import_subscribers", str(tmp_path / "missing.csv"))


# The admin page ----------------------------------------------------------------------------


def upload(name, content):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_subscriber_list_links_to_the_import_page(admin_client):
    assert f'href="{IMPORT_URL}"' in admin_client.get(SUBSCRIBERS_URL).content.decode()


def test_import_page_shows_the_upload_form(admin_client):
    page = admin_client.get(IMPORT_URL).content.decode()

    assert 'enctype="multipart/form-data"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'type="file" name="file"' in page
    assert 'type="checkbox" name="dry_run"' in page


def test_uploading_an_export_imports_it_and_shows_the_report(admin_client):
    response = admin_client.post(
        IMPORT_URL, {"file": upload("members.csv", sample("ghost_members.csv"))}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "What was imported" in page
    assert "Format: Ghost members export." in page
    assert "Added: 4 (3 confirmed, 1 unsubscribed)" in page
    assert Subscriber.objects.count() == 4


def test_a_dry_run_upload_shows_the_report_and_stores_nothing(admin_client):
    response = admin_client.post(
        IMPORT_URL,
        {"file": upload("bd.csv", sample("buttondown_subscribers.csv")), "dry_run": "on"},
    )

    page = response.content.decode()
    assert "What importing this file would do" in page
    assert "This was a dry run: nothing was saved." in page
    assert "Would be added: 4" in page
    assert "Line 6: bd.waiting@example.org: never confirmed at Buttondown." in page
    assert Subscriber.objects.count() == 0


def test_an_unusable_upload_is_a_400_with_the_reason(admin_client):
    response = admin_client.post(IMPORT_URL, {"file": upload("people.csv", b"name\nAnn\n")})

    assert response.status_code == 400
    assert "Nothing was imported" in response.content.decode()
    assert "The file has no email column." in response.content.decode()


def test_an_upload_over_the_size_limit_is_refused_with_the_limit(admin_client):
    big = b"email\n" + b"x" * (21 * 1024 * 1024)

    response = admin_client.post(IMPORT_URL, {"file": upload("big.csv", big)})

    assert response.status_code == 400
    assert "This file is 21.0 MB; the limit is 20 MB." in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_a_post_without_a_file_asks_for_one(admin_client):
    response = admin_client.post(IMPORT_URL, {})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_import_needs_the_permission_to_add_subscribers(client, author):
    author.user_permissions.add(Permission.objects.get(codename="view_subscriber"))
    client.force_login(author)

    assert "Import subscribers" not in client.get(SUBSCRIBERS_URL).content.decode()
    assert client.get(IMPORT_URL).status_code == 403
    response = client.post(IMPORT_URL, {"file": upload("a.csv", b"email\nann@example.com\n")})
    assert response.status_code == 403
    assert Subscriber.objects.count() == 0


def test_import_refuses_a_post_without_the_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(IMPORT_URL, {"file": upload("a.csv", b"email\nann@example.com\n")})

    assert response.status_code == 403
    assert Subscriber.objects.count() == 0


# The export --------------------------------------------------------------------------------


def test_export_carries_each_subscribers_choices_and_consent(
    admin_client, make_subscriber, series, tag
):
    chooser = make_subscriber("chooser@example.com", everything=False, soft_bounces=2)
    chooser.series.add(series)
    chooser.tags.add(tag)
    import_sample("plain_addresses.csv")

    header, *rows = csv.reader(io.StringIO(admin_client.get(EXPORT_URL).content.decode()))

    assert header[-5:] == ["consent_source", "everything", "series", "tags", "soft_bounces"]
    exported = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert exported["chooser@example.com"]["everything"] == "false"
    assert exported["chooser@example.com"]["series"] == "model-checking"
    assert exported["chooser@example.com"]["tags"] == "concurrency"
    assert exported["chooser@example.com"]["soft_bounces"] == "2"
    assert exported["first@example.com"]["everything"] == "true"
    assert exported["first@example.com"]["consent_source"].startswith("Imported from a CSV file")


def test_export_makes_no_query_per_subscriber(
    db, make_subscriber, series, tag, django_assert_num_queries
):
    for number in range(20):
        reader = make_subscriber(f"reader{number}@example.com", everything=False)
        reader.series.add(series)
        reader.tags.add(tag)

    with django_assert_num_queries(3):
        response = subscribers_csv(Subscriber.objects.all())

    assert response.content.decode().count("model-checking") == 20


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_import_page_works_by_keyboard_on_the_narrowest_phone(live_server, admin_user, tmp_path):
    export = tmp_path / "members.csv"
    export.write_bytes(sample("ghost_members.csv"))
    with launched_chromium() as browser:
        page = browser.new_page(base_url=live_server.url, viewport={"width": 320, "height": 640})
        page.goto(IMPORT_URL)
        page.get_by_label("Username").fill(admin_user.username)
        page.get_by_label("Password").fill("password")
        page.get_by_label("Password").press("Enter")
        assert not page.evaluate(SCROLLS_SIDEWAYS)

        page.get_by_label("CSV file").focus()
        page.get_by_label("CSV file").set_input_files(export)
        page.keyboard.press("Tab")
        assert page.get_by_label("Dry run").is_checked(), (
            "a first upload is a dry run unless unticked"
        )
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")

        page.get_by_role("heading", name="What importing this file would do").wait_for()
        assert page.get_by_text("Would be added: 4 (3 confirmed, 1 unsubscribed)").is_visible()
        assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert Subscriber.objects.count() == 0
