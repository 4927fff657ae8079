"""Upload checks: encoding, delimiter, header, size. A refused file leaves nothing behind."""
import pytest

from textpilot.common.errors import DomainError, FieldError
from textpilot.integrations.imports import service, storage
from textpilot.integrations.imports.mapping import suggest_mapping
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles.models import Profile


def refused(store, upload, content, data_dir) -> DomainError:
    with pytest.raises(DomainError) as caught:
        upload(store, content)
    assert caught.value.field == "file"
    assert not ImportJob.objects.exists()
    assert not any(path.is_file() for path in (data_dir / "imports").rglob("*"))
    return caught.value


def test_latin1_file_is_refused_naming_the_byte_and_line(store, upload, data_dir):
    error = refused(store, upload, "phone,name\n+14155552671,Ann\n+14155552672,Jos\xe9\n".encode("latin-1"), data_dir)
    assert error.status_code == 422
    assert error.message == "file is not UTF-8 (byte 0xE9 at line 3): save it as 'CSV UTF-8' and upload it again"


def test_bad_byte_is_found_past_the_first_block(store, upload, data_dir, monkeypatch):
    monkeypatch.setattr(storage, "READ_BLOCK", 16)
    rows = "".join(f"+1415555{2600 + n},name{n}\n" for n in range(10))
    error = refused(store, upload, ("phone,name\n" + rows).encode() + b"+14155552699,Z\xfcrich\n", data_dir)
    assert error.message.startswith("file is not UTF-8 (byte 0xFC at line 12)")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "file is empty"),
        (b"\xef\xbb\xbf  \n\n", "file is empty"),
        (b"phone,email\n", "file has a header row but no customer rows"),
        (b"+14155552671,ann@example.com\n+14155552672,bob@example.com\n",
         "the first row looks like customer data ('+14155552671'), not column names: add a header row"),
        (b"Phone,Email,phone\n+14155552671,a@example.com,x\n",
         "column 'phone' appears twice in the header (columns 1 and 3): rename one"),
    ],
)
def test_unusable_files_are_refused_with_the_reason(store, upload, data_dir, content, message):
    assert refused(store, upload, content, data_dir).message == message


def test_file_over_the_size_limit_is_refused(store, upload, data_dir, monkeypatch):
    monkeypatch.setattr(storage, "MAX_IMPORT_BYTES", 1024 * 1024)
    error = refused(store, upload, "phone\n" + "+14155552671\n" * 90_000, data_dir)
    assert (error.status_code, error.message) == (413, "file is larger than the import limit of 1 MB")


@pytest.mark.parametrize(
    "content, encoding, delimiter",
    [
        ("Phone Number,E-mail\n+14155552671,ann@example.com\n", "utf-8", ","),
        ("\ufeffPhone Number;E-mail\n+14155552671;ann@example.com\n", "utf-8-sig", ";"),
        ("Phone Number\tE-mail\n+14155552671\tann@example.com\n", "utf-8", "\t"),
        # commas inside quoted names must not fool the sniffer
        ('Phone Number;Name;E-mail\n+14155552671;"Lee, Ann";ann@example.com\n+14155552672;"Doe, Bob";bob@example.com\n', "utf-8", ";"),
        ("Phone Number\n+14155552671\n", "utf-8", ","),
    ],
)
def test_encoding_and_delimiter_are_detected(store, upload, data_dir, content, encoding, delimiter):
    job = upload(store, content)
    assert (job.encoding, job.delimiter, job.status) == (encoding, delimiter, ImportJob.Status.UPLOADED)
    assert job.columns[0] == "Phone Number"
    assert job.total_rows == content.count("\n") - 1
    assert job.file_path.startswith(str(data_dir / "imports" / str(store.pk)))


def test_bom_file_imports_its_first_column(store, import_csv):
    job = import_csv(store, "\ufeffphone;first name\n+14155552671;Ann\n")
    assert (job.imported_rows, job.rejected_rows) == (1, 0)


def test_mapping_is_suggested_from_common_header_names():
    columns = ["Phone Number", "E-mail", "First Name", "Surname", "Customer ID", "Tags", "SMS Consent",
               "Consent Date", "Consent Source", "Accepts SMS Marketing", "Favourite Colour", "column_12"]
    assert suggest_mapping(columns) == {
        "Phone Number": "phone", "E-mail": "email", "First Name": "first_name", "Surname": "last_name",
        "Customer ID": "external_id", "Tags": "tags", "SMS Consent": "consent_status", "Consent Date": "consent_date",
        "Consent Source": "consent_source", "Accepts SMS Marketing": "property", "Favourite Colour": "property",
        "column_12": "skip",
    }


@pytest.mark.parametrize(
    "mapping, field, message",
    [
        ({"Name": "first_name", "Phone": "property"}, "mapping",
         "map at least one column to phone, email or customer ID: rows need an identifier"),
        ({"Phone": "phone", "Nope": "email"}, "mapping.Nope", "the file has no column named 'Nope'"),
        ({"Phone": "phone", "Name": "phone"}, "mapping.Name", "columns 'Phone' and 'Name' are both mapped to phone"),
        ({"Phone": "phone", "Name": "favourite"}, "mapping.Name", "'favourite' is not an import target (use one of phone, email,"),
        ({"Phone": "phone", "Name": "consent_date"}, "mapping.Name", "consent date needs a column mapped to SMS consent"),
    ],
)
def test_bad_mappings_are_refused_and_the_job_stays_unstarted(store, upload, mapping, field, message):
    job = upload(store, "Phone,Name\n+14155552671,Ann\n")
    with pytest.raises(FieldError) as caught:
        service.start_import(store, job.pk, mapping)
    assert caught.value.field == field
    assert caught.value.message.startswith(message)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_columns_left_out_of_the_mapping_are_skipped(store, import_csv):
    job = import_csv(store, "Phone,Secret\n+14155552671,do-not-import\n", mapping={"Phone": "phone"})
    assert job.mapping == {"Phone": "phone", "Secret": "skip"}
    assert Profile.objects.get(store=store).properties == {}


def test_preview_shows_clean_values_and_errors(store, upload):
    job = upload(store, "Phone Number,E-mail,SMS Consent\n(415) 555-2671,Ann@Example.com,yes\n12345,x,\n(415) 555-2671,,\n")
    rows = service.preview(store, job)
    assert [row["row"] for row in rows] == [2, 3, 4]
    first = {cell["column"]: (cell["value"], cell["bad"]) for cell in rows[0]["cells"]}
    assert first == {"Phone Number": ("+14155552671", False), "E-mail": ("ann@example.com", False), "SMS Consent": ("subscribed", False)}
    assert rows[0]["errors"] == []
    assert [cell["bad"] for cell in rows[1]["cells"]] == [True, True, False]
    assert [e["column"] for e in rows[1]["errors"]] == ["Phone Number", "E-mail"]
    assert rows[2]["errors"] == [{"column": "Phone Number", "reason": "duplicate of row 2 (same phone)"}]
    assert not Profile.objects.exists()
