"""A customers CSV with good, bad and duplicate rows: exact counts, reasons with row numbers,
the rejected-rows file, and consent evidence only where the file states it."""
import csv
from datetime import datetime, timezone

import pytest

from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentEvent, Profile

HEADER = "Phone Number,E-mail,First Name,Last Name,Tags,SMS Consent,Consent Date,Consent Source,Favourite Colour\n"
ROWS = [
    '(415) 555-2671,ann@example.com,Ann,Lee,"vip, wholesale",yes,2024-03-01T10:00:00Z,popup,green',  # 2 new, subscribed
    "+1 202 555 0143,BOB@Example.com,Bob,,,no,,,",  # 3 new, consent "no": no event
    "12345,carl@example.com,Carl,,,,,,",  # 4 bad phone
    "+14155552672,not-an-email,Dee,,,,,,",  # 5 bad email
    "415-555-2671,ann2@example.com,Ann again,,,,,,",  # 6 duplicate of row 2 (phone)
    ",eve@example.com,Eve,,,yes,,,",  # 7 consent without a phone
    "+14155552673,,Fay,,,maybe,,,",  # 8 not a consent value
    "+14155552674,,Gus,,,yes,31/12/2024,,",  # 9 not a date
    "+14155552675,,Hal,,,unsubscribed,2024-02-01,,",  # 10 new, unsubscribe recorded
    "+14155552676,,Ivy,,,,,,blue",  # 11 new, property only
    ",,,,,,,,",  # 12 blank: skipped
    "+14155552677,bob@example.com,Bob two,,,,,,",  # 13 duplicate of row 3 (email)
    "+14155552678,,Jo,,newtag,yes,2024-01-01,,",  # 14 existing (unsubscribed later): evidence, status stays
    "+14155552679,kim@example.com,Kim,,,,,,",  # 15 existing by email: gets the phone
]
CSV_TEXT = HEADER + "\n".join(ROWS) + "\n"

EXPECTED_ERRORS = [
    {"row": 4, "column": "Phone Number", "reason": "'12345' is not a valid phone number for its country"},
    {"row": 5, "column": "E-mail", "reason": "'not-an-email' is not a valid email address"},
    {"row": 6, "column": "Phone Number", "reason": "duplicate of row 2 (same phone)"},
    {"row": 7, "column": "SMS Consent", "reason": "SMS consent needs a phone number"},
    {"row": 8, "column": "SMS Consent", "reason": "'maybe' is not a consent value: use yes/no, subscribed/unsubscribed, or leave it blank"},
    {"row": 9, "column": "Consent Date", "reason": "'31/12/2024' is not a date: use YYYY-MM-DD or ISO 8601 like 2024-01-31T14:30:00Z"},
    {"row": 13, "column": "E-mail", "reason": "duplicate of row 3 (same email)"},
]


@pytest.fixture
def existing(store):
    jo = profiles.create_profile(store, phone="+14155552678", first_name="Joanne", properties={"tags": ["old"], "tier": "gold"})
    profiles.record_consent(store, jo, "unsubscribed", "inbound_stop", occurred_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    kim = profiles.create_profile(store, email="kim@example.com")
    return jo, kim


def test_counts_reasons_and_rejected_file(store, existing, import_csv):
    job = import_csv(store, CSV_TEXT)

    assert job.status == ImportJob.Status.COMPLETED
    assert (job.total_rows, job.processed_rows) == (14, 14)
    assert (job.imported_rows, job.updated_rows, job.rejected_rows) == (4, 2, 7)
    assert job.errors_sample == EXPECTED_ERRORS

    with open(job.rejected_file_path, encoding="utf-8", newline="") as file:
        rejected = list(csv.reader(file))
    assert rejected[0] == [*HEADER.strip().split(","), "error"]
    assert [row[:-1] for row in rejected[1:]] == [next(csv.reader([ROWS[e["row"] - 2]])) for e in EXPECTED_ERRORS]
    assert [row[-1] for row in rejected[1:]] == [f"row {e['row']}: {e['column']}: {e['reason']}" for e in EXPECTED_ERRORS]


def test_profiles_are_created_and_updated_by_the_profile_rules(store, existing, import_csv):
    jo, kim = existing
    import_csv(store, CSV_TEXT)

    ann = Profile.objects.get(store=store, phone="+14155552671")
    assert (ann.email, ann.first_name, ann.last_name, ann.country, ann.source) == ("ann@example.com", "Ann", "Lee", "US", "import")
    assert ann.properties == {"tags": ["vip", "wholesale"], "favourite_colour": "green"}
    bob = Profile.objects.get(store=store, phone="+12025550143")
    assert (bob.email, bob.sms_status, bob.sms_status_at) == ("bob@example.com", "never", None)
    assert Profile.objects.get(store=store, phone="+14155552676").properties == {"favourite_colour": "blue"}

    jo.refresh_from_db()
    assert jo.first_name == "Jo"
    assert jo.properties == {"tags": ["old", "newtag"], "tier": "gold"}
    kim.refresh_from_db()
    assert (kim.phone, kim.first_name) == ("+14155552679", "Kim")
    # Rejected rows wrote nothing.
    assert not Profile.objects.filter(store=store, first_name__in=["Carl", "Dee", "Ann again", "Eve", "Fay", "Gus", "Bob two"]).exists()
    assert Profile.objects.filter(store=store).count() == 6


def test_consent_evidence_only_where_the_file_states_it(store, existing, import_csv):
    jo, _ = existing
    job = import_csv(store, CSV_TEXT)

    imported = ConsentEvent.objects.filter(store=store, source="import").order_by("occurred_at")
    assert [(e.phone, e.status, e.occurred_at) for e in imported] == [
        ("+14155552678", "subscribed", datetime(2024, 1, 1, 5, 0, tzinfo=timezone.utc)),  # midnight New York
        ("+14155552675", "unsubscribed", datetime(2024, 2, 1, 5, 0, tzinfo=timezone.utc)),
        ("+14155552671", "subscribed", datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc)),
    ]
    ann_event = imported.get(phone="+14155552671")
    assert ann_event.consent_text == (
        f"CSV import #{job.pk} of 'customers.csv', row 2: SMS Consent='yes'; "
        "consent date in file: '2024-03-01T10:00:00Z'; consent source in file: 'popup'"
    )
    ann = Profile.objects.get(store=store, phone="+14155552671")
    assert (ann.sms_status, ann.sms_status_at) == ("subscribed", datetime(2024, 3, 1, 10, 0, tzinfo=timezone.utc))
    assert Profile.objects.get(store=store, phone="+14155552675").sms_status == "unsubscribed"
    # The newest event decides: Jo texted STOP in 2025, the file's 2024 opt-in is kept as evidence only.
    jo.refresh_from_db()
    assert (jo.sms_status, jo.sms_status_at) == ("unsubscribed", datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert Profile.objects.filter(store=store, sms_status="subscribed").count() == 1


def test_subscribed_without_a_date_uses_the_upload_time_and_says_so(store, import_csv):
    job = import_csv(store, "phone,sms consent\n+14155552671,Yes\n")
    event = ConsentEvent.objects.get(store=store)
    assert event.occurred_at == job.created_at
    assert event.consent_text.endswith("no consent date in file (upload time used)")


def test_no_in_the_file_does_not_revoke_consent_given_elsewhere(store, import_csv):
    ann = profiles.create_profile(store, phone="+14155552671")
    profiles.record_consent(store, ann, "subscribed", "popup")
    import_csv(store, "phone,accepts sms marketing\n+14155552671,no\n")
    ann.refresh_from_db()
    assert ann.sms_status == "subscribed"
    assert list(ConsentEvent.objects.filter(store=store).values_list("source", flat=True)) == ["popup"]


def test_row_whose_identifiers_belong_to_two_profiles_is_refused(store, import_csv):
    a = profiles.create_profile(store, phone="+14155552671")
    b = profiles.create_profile(store, email="b@example.com")
    job = import_csv(store, "phone,email,first name\n+14155552671,b@example.com,Both\n")
    assert (job.imported_rows, job.updated_rows, job.rejected_rows) == (0, 0, 1)
    assert job.errors_sample == [{
        "row": 2, "column": "email",
        "reason": f"its phone belongs to profile #{a.pk} but its email belongs to profile #{b.pk}: merge those profiles first or fix the row",
    }]
    assert not Profile.objects.filter(first_name="Both").exists()


def test_identifier_moved_within_a_chunk_is_written_without_a_clash(store, import_csv):
    """Row 2 gives Ann a new email; row 3 then takes Ann's old one for a new person."""
    ann = profiles.create_profile(store, phone="+14155552671", email="old@example.com")
    job = import_csv(store, "phone,email\n+14155552671,new@example.com\n+14155552672,old@example.com\n")
    assert (job.imported_rows, job.updated_rows, job.rejected_rows) == (1, 1, 0)
    ann.refresh_from_db()
    assert ann.email == "new@example.com"
    assert Profile.objects.get(store=store, email="old@example.com").phone == "+14155552672"


def test_numbers_are_read_in_the_row_country_and_extra_cells_are_refused(store, import_csv):
    job = import_csv(store, "phone,country,name\n030 901820,de,Max\n+14155552671,US,Ann,extra\n")
    assert Profile.objects.get(store=store, phone="+4930901820").country == "DE"
    assert job.errors_sample == [{"row": 3, "column": "", "reason": "row has 4 values but the header has 3 columns (a value with an unquoted delimiter?)"}]


def test_an_import_never_touches_another_stores_profiles(store, other_store, import_csv):
    theirs = profiles.create_profile(other_store, phone="+14155552671", first_name="Theirs", email="ann@example.com")
    job = import_csv(store, "phone,email,first name,sms consent\n+14155552671,ann@example.com,Ours,yes\n")
    assert (job.imported_rows, job.updated_rows) == (1, 0)
    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.sms_status, theirs.store_id) == ("Theirs", "never", other_store.pk)
    assert not ConsentEvent.objects.filter(store=other_store).exists()
    ours = Profile.objects.get(store=store, phone="+14155552671")
    assert (ours.first_name, ours.sms_status) == ("Ours", "subscribed")


def test_consent_yes_without_a_date_never_lifts_a_stop(store, sim_sender, import_csv):
    """Defect: "yes" with no date (upload time used) re-subscribed a number that texted STOP."""
    from textpilot.delivery import inbound

    ann = profiles.create_profile(store, phone="+14155552671", first_name="Ann")
    profiles.record_consent(store, ann, "subscribed", "popup", occurred_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    inbound.receive_inbound(store, from_phone="+14155552671", to_phone="+14155550100", body="stop", provider="sim")
    text = "Phone Number,First Name,SMS Consent\n(415) 555-2671,Annie,yes\n+14155552680,Bea,yes\n"
    job = import_csv(store, text)

    assert (job.status, job.imported_rows, job.updated_rows, job.rejected_rows) == (ImportJob.Status.COMPLETED, 1, 1, 0)
    ann.refresh_from_db()
    assert (ann.first_name, ann.sms_status) == ("Annie", "unsubscribed")  # the row's name is taken, its opt-in is not
    assert job.consent_skipped_rows == 1
    [skipped] = job.consent_skipped_sample
    assert (skipped["row"], skipped["column"]) == (2, "SMS Consent")
    assert skipped["reason"].startswith(f"consent not changed: opted out on {ann.sms_opted_out_at:%Y-%m-%d} by STOP")
    assert not ConsentEvent.objects.filter(profile=ann, source="import").exists()
    assert Profile.objects.get(phone="+14155552680").sms_status == "subscribed"


def test_a_state_column_fills_the_region(store, import_csv):
    job = import_csv(store, "Phone,State\n+14155552681,TX\n+14155552682,US-FL\n")
    assert job.mapping["State"] == "region"
    assert dict(Profile.objects.values_list("phone", "region")) == {"+14155552681": "TX", "+14155552682": "FL"}
