"""Damaged cells fail their own row, with the row and column named, and the good rows still
import (issue #10): a NUL byte (PostgreSQL stores none, and it failed the whole import with a
raw database error) and an unclosed quote (which silently read the next rows into a name)."""
import pytest

from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles.models import Profile

HEADER = "Phone,Email,First Name,Tags,SMS Consent,Consent Source,Notes\n"


@pytest.mark.parametrize("column, cells", [
    ("First Name", "+14155550102,bob@example.com,Bo\x00b,,,,"),
    ("Email", "+14155550102,bob\x00@example.com,Bob,,,,"),
    ("Phone", "+1415555\x000102,bob@example.com,Bob,,,,"),
    ("Tags", "+14155550102,bob@example.com,Bob,vip\x00,,,"),
    ("Consent Source", "+14155550102,bob@example.com,Bob,,yes,pop\x00up,"),
    ("Notes", "+14155550102,bob@example.com,Bob,,,,likes\x00tents"),
])
def test_a_nul_byte_fails_only_its_row(store, import_csv, column, cells):
    text = HEADER + "+14155550101,ann@example.com,Ann,,,,\n" + cells + "\n+14155550103,cy@example.com,Cy,,,,\n"
    mapping = {"Phone": "phone", "Email": "email", "First Name": "first_name", "Tags": "tags",
               "SMS Consent": "consent_status", "Consent Source": "consent_source", "Notes": "property"}
    job = import_csv(store, text, mapping=mapping)
    assert job.status == ImportJob.Status.COMPLETED, job.error
    assert (job.imported_rows, job.rejected_rows) == (2, 1)
    [error] = job.errors_sample
    assert (error["row"], error["column"]) == (3, column) and "NUL character" in error["reason"], error
    assert set(Profile.objects.values_list("first_name", flat=True)) == {"Ann", "Cy"}


def test_an_unclosed_quote_is_reported_on_its_row_not_merged_into_a_name(store, import_csv):
    text = ("Phone,First Name,Last Name\n"
            "+14155550101,Ann,Lee\n"
            '+14155550102,"Bob,Stone\n'      # the quote opened here is never closed...
            "+14155550103,Cy,Moss\n"         # ...so csv reads this row and the next into Bob's name
            "+14155550104,Di,Park\n")
    job = import_csv(store, text)
    assert job.status == ImportJob.Status.COMPLETED, job.error
    [error] = job.errors_sample
    assert (error["row"], error["column"]) == (3, "First Name")
    assert "quote" in error["reason"] and "not closed" in error["reason"], error
    assert list(Profile.objects.values_list("first_name", flat=True)) == ["Ann"]


def test_an_unclosed_quote_closed_by_a_later_one_is_reported_too(store, import_csv):
    text = ("Phone,First Name,Notes\n"
            '+14155550101,"Ann,x\n'          # opened here...
            "+14155550102,Bob,y\n"
            '+14155550103,Cy,"z"\n'          # ...and "closed" by the quote that opens this cell
            "+14155550104,Di,w\n")
    job = import_csv(store, text, mapping={"Phone": "phone", "First Name": "first_name", "Notes": "property"})
    assert [(e["row"], e["column"]) for e in job.errors_sample] == [(2, "First Name")]
    assert list(Profile.objects.values_list("first_name", flat=True)) == ["Di"]


def test_a_quoted_note_over_several_lines_still_imports(store, import_csv):
    text = 'Phone,First Name,Notes\n+14155550101,Ann,"Call after 5pm.\nPrefers texts, not calls."\n+14155550102,Bob,\n'
    job = import_csv(store, text, mapping={"Phone": "phone", "First Name": "first_name", "Notes": "property"})
    assert (job.imported_rows, job.rejected_rows) == (2, 0), job.errors_sample
    assert Profile.objects.get(first_name="Ann").properties["notes"] == "Call after 5pm.\nPrefers texts, not calls."
