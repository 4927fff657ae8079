"""The import API: multipart upload, mapping (starts the worker), status, rejected rows."""
import csv

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from textpilot.integrations.imports import storage
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles.models import Profile

CONTENT = (
    "Phone Number,E-mail,First Name,SMS Consent,Consent Date,Shoe Size\n"
    "(415) 555-2671,ann@example.com,Ann,yes,2024-03-01,38\n"
    "12345,bob@example.com,Bob,,,44\n"
    "+14155552673,,Cy,no,,\n"
)


def post_file(client, key, content, name="customers.csv", **extra):
    data = content.encode() if isinstance(content, str) else content
    return client.post("/api/v1/imports", {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
                       HTTP_AUTHORIZATION=f"Bearer {key}", **extra)


def test_upload_map_run_and_read_the_report(client, api, api_key, store, django_capture_on_commit_callbacks):
    uploaded = post_file(client, api_key, CONTENT)
    assert uploaded.status_code == 201, uploaded.content
    body = uploaded.json()
    assert (body["status"], body["total_rows"], body["delimiter"], body["encoding"]) == ("uploaded", 3, ",", "utf-8")
    assert body["mapping"] == {
        "Phone Number": "phone", "E-mail": "email", "First Name": "first_name", "SMS Consent": "consent_status",
        "Consent Date": "consent_date", "Shoe Size": "property",
    }
    assert [cell["value"] for cell in body["preview"][0]["cells"]] == [
        "+14155552671", "ann@example.com", "Ann", "subscribed", "2024-03-01T00:00-05:00", "38"]
    assert body["preview"][1]["errors"] == [
        {"column": "Phone Number", "reason": "'12345' is not a valid phone number for its country"}]

    job_id = body["id"]
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/imports/{job_id}/mapping", {"mapping": body["mapping"]})
    assert started.status_code == 202, started.content
    assert started.json()["status"] == "queued"

    status = api.get(f"/api/v1/imports/{job_id}").json()
    assert (status["status"], status["progress_percent"]) == ("completed", 100)
    assert (status["imported_rows"], status["updated_rows"], status["rejected_rows"]) == (2, 0, 1)
    assert status["errors_sample"] == [
        {"row": 3, "column": "Phone Number", "reason": "'12345' is not a valid phone number for its country"}]
    assert status["rejected_csv_url"] == f"/api/v1/imports/{job_id}/rejected.csv"
    assert (status["consent_skipped_rows"], status["consent_skipped_sample"]) == (0, [])  # no consent column here
    assert Profile.objects.get(store=store, phone="+14155552671").properties == {"shoe_size": "38"}
    assert [job["id"] for job in api.get("/api/v1/imports").json()] == [job_id]

    download = api.get(f"/api/v1/imports/{job_id}/rejected.csv")
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(b"".join(download.streaming_content).decode().splitlines()))
    assert rows == [
        ["Phone Number", "E-mail", "First Name", "SMS Consent", "Consent Date", "Shoe Size", "error"],
        ["12345", "bob@example.com", "Bob", "", "", "44",
         "row 3: Phone Number: '12345' is not a valid phone number for its country"],
    ]
    # Started once: a second mapping is a conflict.
    again = api.post(f"/api/v1/imports/{job_id}/mapping", {"mapping": body["mapping"]})
    assert again.status_code == 409


def test_mapping_without_an_identifier_is_422_and_starts_nothing(client, api, api_key):
    job_id = post_file(client, api_key, CONTENT).json()["id"]
    response = api.post(f"/api/v1/imports/{job_id}/mapping", {"mapping": {"Phone Number": "skip", "E-mail": "property"}})
    assert response.status_code == 422
    assert response.json()["detail"] == [{
        "loc": ["body", "mapping"], "type": "fielderror",
        "msg": "map at least one column to phone, email or customer ID: rows need an identifier",
    }]
    assert ImportJob.objects.get(pk=job_id).status == "uploaded"
    assert not Profile.objects.exists()


@pytest.mark.parametrize(
    "content, status, message",
    [
        ("phone,name\n+14155552671,Jos\xe9\n".encode("latin-1"), 422, "file is not UTF-8 (byte 0xE9 at line 2)"),
        (b"", 422, "file is empty"),
        (b"+14155552671,Ann\n", 422, "the first row looks like customer data"),
    ],
)
def test_bad_files_are_refused_naming_the_problem(client, api_key, content, status, message):
    response = post_file(client, api_key, content)
    assert response.status_code == status
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "file"] and detail["msg"].startswith(message)
    assert not ImportJob.objects.exists()


def test_missing_file_field_and_oversized_body(client, api_key, monkeypatch):
    response = client.post("/api/v1/imports", {"other": "x"}, HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "send the CSV as the multipart/form-data field 'file'"

    monkeypatch.setattr(storage, "MAX_IMPORT_BYTES", 1000)
    response = post_file(client, api_key, "phone\n" + "+14155552671\n" * 50_000)
    assert response.status_code == 413
    assert response.json()["detail"][0]["msg"] == "file is larger than the import limit of 1,000 bytes"
    assert not ImportJob.objects.exists()


def test_another_store_cannot_see_or_start_an_import(client, api_key, other_api, api):
    job_id = post_file(client, api_key, CONTENT).json()["id"]
    assert other_api.get(f"/api/v1/imports/{job_id}").status_code == 404
    assert other_api.post(f"/api/v1/imports/{job_id}/mapping", {"mapping": {"Phone Number": "phone"}}).status_code == 404
    assert other_api.get(f"/api/v1/imports/{job_id}/rejected.csv").status_code == 404
    assert other_api.get("/api/v1/imports").json() == []
    assert ImportJob.objects.get(pk=job_id).status == "uploaded"
    assert api.get(f"/api/v1/imports/{job_id}/rejected.csv").status_code == 404  # nothing rejected yet


def test_upload_needs_an_api_key(client, db):
    response = client.post("/api/v1/imports", {"file": SimpleUploadedFile("c.csv", b"phone\n+14155552671\n")})
    assert response.status_code == 401
    assert not ImportJob.objects.exists()
