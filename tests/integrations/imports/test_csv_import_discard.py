"""A stale upload (never mapped, never started) can be discarded by an owner: its file and
its row go, the browser is sent back to the list (POST-redirect-GET). Staff can't, an import
that ran can't be discarded, and the report's header badge follows the progress it polls."""
from pathlib import Path

import pytest

from textpilot.integrations.imports.models import ImportJob
from textpilot.stores import service as stores

CONTENT = "phone,first_name\n+14155552671,Ann\n"


def test_owner_discards_a_stale_upload(owner_client, store, upload, django_capture_on_commit_callbacks):
    job = upload(store, CONTENT, name="old export.csv")
    stored = Path(job.file_path)
    assert stored.is_file()
    page = owner_client.get(f"/imports/{job.pk}/").content.decode()
    assert f'action="/imports/{job.pk}/discard/"' in page  # offered on the mapping page
    listing = owner_client.get("/imports/").content.decode()
    assert f'action="/imports/{job.pk}/discard/"' in listing  # and next to it in the list

    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the row's deletion is committed
        response = owner_client.post(f"/imports/{job.pk}/discard/")
    assert response.status_code == 302 and response["Location"] == "/imports/"
    assert not ImportJob.objects.filter(pk=job.pk).exists() and not stored.exists()
    after = owner_client.get("/imports/").content.decode()
    assert "Discarded old export.csv" in after and "No imports yet." in after
    # Reloading the list repeats nothing; posting again finds nothing.
    assert owner_client.post(f"/imports/{job.pk}/discard/").status_code == 404


def test_staff_cannot_discard(client, store, upload):
    job = upload(store, CONTENT)
    client.force_login(stores.ensure_user("staff@acme.test", "correct-horse-battery", store, "staff"))
    assert f"/imports/{job.pk}/discard/" not in client.get(f"/imports/{job.pk}/").content.decode()
    assert client.post(f"/imports/{job.pk}/discard/").status_code == 403
    assert ImportJob.objects.filter(pk=job.pk).exists() and Path(job.file_path).is_file()


def test_discard_needs_post(owner_client, store, upload):
    job = upload(store, CONTENT)
    assert owner_client.get(f"/imports/{job.pk}/discard/").status_code == 405
    assert ImportJob.objects.filter(pk=job.pk).exists()


def test_an_import_that_ran_is_kept(owner_client, store, import_csv):
    job = import_csv(store, CONTENT)
    assert job.status == ImportJob.Status.COMPLETED
    assert "/discard/" not in owner_client.get(f"/imports/{job.pk}/").content.decode()
    response = owner_client.post(f"/imports/{job.pk}/discard/", follow=True)
    assert response.redirect_chain[-1][0] == f"/imports/{job.pk}/"
    assert "only an upload that was never started can be discarded" in response.content.decode()
    assert ImportJob.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize("status, label", [("queued", "Queued"), ("running", "Running"), ("completed", "Completed"),
                                           ("failed", "Failed")])
def test_the_polled_progress_also_updates_the_header_badge(owner_client, store, upload, status, label):
    """The report polls #import-progress; the badge in the page header is outside it, so the
    fragment carries the badge too (htmx out-of-band swap) and the two never disagree."""
    job = upload(store, CONTENT)
    ImportJob.objects.filter(pk=job.pk).update(status=status)
    fragment = owner_client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert '<span id="import-status" hx-swap-oob="true">' in fragment
    badge = fragment[fragment.index('<span id="import-status"'):]
    assert f">{label}</span>" in badge[:200]
    full = owner_client.get(f"/imports/{job.pk}/").content.decode()
    assert full.count('id="import-status"') == 1  # the full page has the badge once, in its header
