"""Dashboard pages of the import through the Django test client: upload, mapping with a
preview, start, progress partial, report, rejected rows, and store scoping."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from textpilot.integrations.imports import service
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles.models import Profile

CONTENT = "Phone Number,E-mail,Nickname\n(415) 555-2671,ann@example.com,Annie\n12345,bob@example.com,Bobby\n"


def upload_page(client, content=CONTENT, name="shop export.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post("/imports/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def test_jobs_list_and_upload_form(owner_client, store):
    response = owner_client.get("/imports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Import customers" in html and 'enctype="multipart/form-data"' in html and "No imports yet." in html
    assert "up to 200 MB" in html


def test_upload_then_map_with_preview_then_import(owner_client, store, django_capture_on_commit_callbacks):
    response = upload_page(owner_client)
    job = ImportJob.objects.get(store=store)
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert job.original_filename == "shop export.csv" and job.created_by.username == "owner@acme.test"

    mapping_page = owner_client.get(f"/imports/{job.pk}/").content.decode()
    assert "Map columns" in mapping_page
    assert '<option value="phone" selected>' in mapping_page and '<option value="property" selected>' in mapping_page
    assert "+14155552671" in mapping_page  # normalised in the preview
    assert "&#x27;12345&#x27; is not a valid phone number for its country" in mapping_page
    assert 'aria-invalid="true"' in mapping_page

    # Changing a select asks htmx for the preview alone.
    partial = owner_client.post(f"/imports/{job.pk}/mapping/", {"map-0": "skip", "map-1": "email", "map-2": "first_name", "preview": "1"},
                                HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    html = partial.content.decode()
    assert html.lstrip().startswith('<section id="import-preview"') and "<html" not in html
    assert "Annie" in html and "+14155552671" not in html

    with django_capture_on_commit_callbacks(execute=True):
        started = owner_client.post(f"/imports/{job.pk}/mapping/", {"map-0": "phone", "map-1": "email", "map-2": "property"})
    assert started.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.imported_rows, job.rejected_rows) == ("completed", 1, 1)
    assert Profile.objects.get(store=store).properties == {"nickname": "Annie"}

    report = owner_client.get(f"/imports/{job.pk}/").content.decode()
    assert "Import finished" in report and 'value="100"' in report
    assert "Download rejected rows" in report and "hx-trigger" not in report  # finished: no more polling
    listing = owner_client.get("/imports/").content.decode()
    assert "shop export.csv" in listing and "Completed" in listing

    download = owner_client.get(f"/imports/{job.pk}/rejected.csv")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).decode().splitlines()[1] == (
        "12345,bob@example.com,Bobby,row 3: Phone Number: '12345' is not a valid phone number for its country")


def test_progress_partial_polls_while_the_job_runs(owner_client, store):
    upload_page(owner_client)
    job = ImportJob.objects.get(store=store)
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed_rows=1)
    partial = owner_client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="import-progress"')
    assert f'hx-get="/imports/{job.pk}/progress/"' in partial and 'hx-trigger="every 2s"' in partial
    assert 'value="50"' in partial and "1 of 2 rows" in partial


def test_mapping_without_identifier_is_refused_on_the_page(owner_client, store):
    upload_page(owner_client)
    job = ImportJob.objects.get(store=store)
    response = owner_client.post(f"/imports/{job.pk}/mapping/", {"map-0": "skip", "map-1": "skip", "map-2": "property"})
    assert response.status_code == 422
    assert "map at least one column to phone, email or customer ID" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "uploaded"


def test_wrong_encoding_is_shown_on_the_upload_page(owner_client, store):
    response = upload_page(owner_client, "phone,name\n+14155552671,Jos\xe9\n".encode("latin-1"))
    assert response.status_code == 422
    assert "file is not UTF-8 (byte 0xE9 at line 2)" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_failed_import_shows_the_error_and_can_be_retried(owner_client, store, django_capture_on_commit_callbacks):
    upload_page(owner_client)
    job = ImportJob.objects.get(store=store)
    service.start_import(store, job.pk, job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status="failed", error="OperationalError: database is locked")
    page = owner_client.get(f"/imports/{job.pk}/").content.decode()
    assert "Import stopped" in page and "OperationalError: database is locked" in page and "Retry" in page
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.post(f"/imports/{job.pk}/retry/").status_code == 302
    job.refresh_from_db()
    assert (job.status, job.imported_rows) == ("completed", 1)


@pytest.mark.parametrize("path", ["/imports/{id}/", "/imports/{id}/progress/", "/imports/{id}/rejected.csv"])
def test_another_stores_user_gets_404(client, store, other_store, import_csv, path):
    from textpilot.stores import service

    job = import_csv(store, CONTENT)
    assert job.rejected_rows == 1
    stranger = service.ensure_user("owner@berlin.test", "correct-horse-battery", other_store, "owner")
    client.force_login(stranger)
    assert client.get(path.format(id=job.pk)).status_code == 404
    assert client.post(f"/imports/{job.pk}/mapping/", {"map-0": "phone"}).status_code == 404
    assert client.post(f"/imports/{job.pk}/retry/").status_code == 404


def test_pages_need_a_login(client, store, upload):
    job = upload(store, CONTENT)
    response = client.get(f"/imports/{job.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_report_lists_rows_whose_opt_in_was_skipped_after_a_stop(owner_client, store, sim_sender, import_csv):
    from textpilot.delivery import inbound
    from textpilot.profiles import service as profiles

    ann = profiles.create_profile(store, phone="+14155552671")
    inbound.receive_inbound(store, from_phone=ann.phone, to_phone=sim_sender.from_number, body="STOP", provider="sim")
    job = import_csv(store, "Phone Number,SMS Consent\n(415) 555-2671,yes\n(415) 555-2672,yes\n12345,yes\n")
    page = owner_client.get(f"/imports/{job.pk}/").content.decode()
    assert "Consent not changed in 1 row" in page and "opted out on" in page and "by STOP" in page
    assert "Rejected rows" in page and "not a valid phone number" in page  # the other table still renders
