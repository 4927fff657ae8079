"""A crash in the middle of an import leaves whole chunks only; the next run resumes at the
first unprocessed row and ends exactly where an uninterrupted run ends."""
import csv
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from textpilot.integrations.imports import runner, service, storage
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles import bulk
from textpilot.profiles.models import ConsentEvent, Profile

CHUNK = 3
# 14 rows = 5 chunks of 3 (the last one short). Row 15 repeats row 2's phone across chunks;
# row 12 repeats row 4's email; rows 6 and 11 are bad.
ROWS = [
    "+14155552601,a@example.com,yes,2024-01-01",
    "+14155552602,b@example.com,,",
    "+14155552603,c@example.com,yes,",
    "+14155552604,d@example.com,no,",
    "555,e@example.com,,",
    "+14155552606,f@example.com,unsubscribed,2024-02-02",
    "+14155552607,g@example.com,yes,2024-03-03",
    "+14155552608,h@example.com,,",
    "+14155552609,i@example.com,,",
    "+14155552610,bad-email,,",
    "+14155552611,c@example.com,yes,",
    "+14155552612,k@example.com,yes,",
    "+14155552613,l@example.com,,",
    "+14155552601,m@example.com,yes,",
]
CONTENT = "phone,email,sms consent,consent date\n" + "\n".join(ROWS) + "\n"


@pytest.fixture
def twin_store(db):
    """A store set up like `store`, for the uninterrupted reference run."""
    from textpilot.stores import service

    return service.create_store("Acme Twin", slug="acme-twin", timezone="America/New_York", currency="USD", country="US")


def result(store, job):
    job.refresh_from_db()
    profiles = sorted(Profile.objects.filter(store=store).values_list("phone", "email", "sms_status", "sms_status_at"))
    consent = sorted(
        (phone, status, at, text.replace(f"#{job.pk} ", "#N "))
        for phone, status, at, text in ConsentEvent.objects.filter(store=store).values_list("phone", "status", "occurred_at", "consent_text")
    )
    with open(job.rejected_file_path, encoding="utf-8") as file:
        rejected = file.read()
    counts = (job.status, job.total_rows, job.processed_rows, job.imported_rows, job.updated_rows, job.rejected_rows)
    return counts, job.errors_sample, profiles, consent, rejected


def queued(store, upload, created_at):
    job = upload(store, CONTENT)
    # Both runs judge against the same upload time, so their evidence texts/dates compare equal.
    ImportJob.objects.filter(pk=job.pk).update(created_at=created_at)
    service.start_import(store, job.pk, job.mapping)  # no worker: the test runs it
    return ImportJob.objects.get(pk=job.pk)


def crash_on_third_call(monkeypatch, target, name):
    original, calls = getattr(target, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        value = original(*args, **kwargs)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return value

    monkeypatch.setattr(target, name, flaky)


@pytest.mark.parametrize(
    "where, helpers",
    [("while writing profiles", 0), ("after writing rejected rows", 0), ("while writing profiles", 1)],
)
def test_resume_after_a_crash_matches_an_uninterrupted_run(store, twin_store, upload, monkeypatch, where, helpers):
    """helpers=1: rows are checked in a helper process (spawned, like in production)."""
    monkeypatch.setattr(runner, "IMPORT_HELPERS", helpers)
    uploaded_at = timezone.now() - timedelta(hours=1)
    reference = queued(twin_store, upload, uploaded_at)
    service.run_import(reference.pk, chunk_rows=CHUNK)
    expected = result(twin_store, reference)

    job = queued(store, upload, uploaded_at)
    with monkeypatch.context() as patch:
        if where == "while writing profiles":
            crash_on_third_call(patch, bulk, "upsert_profiles")
        else:
            crash_on_third_call(patch, storage.RejectedRows, "append")
        with pytest.raises(RuntimeError, match="worker killed"):
            service.run_import(job.pk, chunk_rows=CHUNK)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.error) == (ImportJob.Status.FAILED, 6, "RuntimeError: worker killed")
    assert Profile.objects.filter(store=store, phone__isnull=False).count() == 5  # chunks 1-2: rows 2-7, one bad

    service.run_import(job.pk, chunk_rows=CHUNK)

    counts, sample, profiles, consent, rejected = result(store, job)
    assert counts == expected[0] == (ImportJob.Status.COMPLETED, 14, 14, 10, 0, 4)
    assert sample == expected[1]
    assert [e["reason"] for e in sample] == [
        "'555' is not a valid phone number for its country", "'bad-email' is not a valid email address",
        "duplicate of row 4 (same email)", "duplicate of row 2 (same phone)",
    ]
    assert profiles == expected[2] and len(profiles) == 10
    assert consent == expected[3] and len(consent) == 5
    assert rejected == expected[4]
    assert list(csv.reader(rejected.splitlines()))[1:] == [
        ["555", "e@example.com", "", "", "row 6: phone: '555' is not a valid phone number for its country"],
        ["+14155552610", "bad-email", "", "", "row 11: email: 'bad-email' is not a valid email address"],
        ["+14155552611", "c@example.com", "yes", "", "row 12: email: duplicate of row 4 (same email)"],
        ["+14155552601", "m@example.com", "yes", "", "row 15: phone: duplicate of row 2 (same phone)"],
    ]


def test_a_concurrent_write_is_retried_without_duplicating_rejected_rows(store, upload, monkeypatch):
    job = queued(store, upload, timezone.now())
    original, calls = bulk.upsert_profiles, []

    def clash_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise IntegrityError("duplicate key value violates unique constraint")
        return original(*args, **kwargs)

    monkeypatch.setattr(bulk, "upsert_profiles", clash_once)
    service.run_import(job.pk, chunk_rows=CHUNK)
    job.refresh_from_db()
    assert (job.status, job.imported_rows, job.rejected_rows) == (ImportJob.Status.COMPLETED, 10, 4)
    with open(job.rejected_file_path, encoding="utf-8") as file:
        assert len(file.read().splitlines()) == 5


def test_a_job_held_by_a_live_run_or_finished_is_left_alone(store, upload):
    job = queued(store, upload, timezone.now())
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, heartbeat_at=timezone.now())
    service.run_import(job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportJob.Status.RUNNING, 0)
    assert not Profile.objects.exists()
    assert service.stalled_import_ids() == []

    # Its worker stops reporting: after the lease the job counts as stalled and is taken over.
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - runner.LEASE - timedelta(seconds=1))
    assert service.stalled_import_ids() == [job.pk]
    service.run_import(job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportJob.Status.COMPLETED, 14)

    service.run_import(job.pk)  # a second delivery of the task changes nothing
    assert Profile.objects.count() == 10


def test_failed_import_is_retried_through_the_task(store, upload, monkeypatch, django_capture_on_commit_callbacks):
    job = queued(store, upload, timezone.now())
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, error="RuntimeError: boom")
    with django_capture_on_commit_callbacks(execute=True):
        service.retry_import(store, job.pk)
    job.refresh_from_db()
    assert (job.status, job.error, job.imported_rows) == (ImportJob.Status.COMPLETED, "", 10)


def test_rows_are_checked_in_the_worker_when_helpers_cannot_start(store, twin_store, upload, monkeypatch):
    class NoProcesses:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, *args, **kwargs):
            raise RuntimeError("can't start new process")

    reference = queued(twin_store, upload, timezone.now())
    service.run_import(reference.pk, chunk_rows=CHUNK)
    monkeypatch.setattr(runner, "IMPORT_HELPERS", 1)
    monkeypatch.setattr(runner, "ProcessPoolExecutor", NoProcesses)
    job = queued(store, upload, reference.created_at)
    service.run_import(job.pk, chunk_rows=CHUNK)
    assert result(store, job)[:3] == result(twin_store, reference)[:3]
