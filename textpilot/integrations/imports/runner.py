"""The import run: claim a queued job with a lease, then read its file in chunks, check the
rows (in helper processes when there are cores to spare) and write each chunk through
profiles.bulk in one transaction together with the job's `processed_rows` cursor.

A crash therefore leaves no half-written chunk and a new run resumes at the first
unprocessed row; a run whose job another run has taken over stops without writing."""
import logging
import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from datetime import timedelta
from itertools import chain, islice

import django
from django.db import IntegrityError, transaction
from django.utils import timezone

from textpilot.integrations.imports.models import ImportJob
from textpilot.integrations.imports.rows import CheckedRow, DuplicateTracker, RowValidator, check_chunk, unpack
from textpilot.integrations.imports.storage import RejectedRows, records, rejected_path
from textpilot.profiles import bulk

logger = logging.getLogger("textpilot.imports")

CHUNK_ROWS = 2000
FIRST_ANALYZE_ROWS = 10_000
# Helper processes that check rows while the worker writes (0: check inline). One is enough
# to overlap checking with writing; set TEXTPILOT_IMPORT_HELPERS=0 on a one-core machine.
IMPORT_HELPERS = int(os.environ.get("TEXTPILOT_IMPORT_HELPERS", "1" if (os.cpu_count() or 1) > 1 else "0"))
ERRORS_SAMPLE_SIZE = 100
# A run that has not reported for this long is taken to be dead and may be taken over.
LEASE = timedelta(minutes=5)
CONSENT_SOURCE = "import"
MAX_WRITE_ATTEMPTS = 3


class ImportSuperseded(Exception):
    """Another run moved the job's cursor: this one stops without writing."""


def run_import(job_id: int, chunk_rows: int = CHUNK_ROWS) -> ImportJob | None:
    """Import (or resume) a queued job. Safe to call twice: a job another live run holds,
    or a finished one, is left alone."""
    job = _claim(job_id)
    if job is None:
        return ImportJob.objects.filter(pk=job_id).first()
    try:
        # No GC tuning here: it is process-wide, so `textpilot worker` sets it once at start
        # (web/management/commands/worker.py says why and what it saves).
        _run_chunks(job, chunk_rows)
    except ImportSuperseded:
        return ImportJob.objects.get(pk=job_id)
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
            status=ImportJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], heartbeat_at=timezone.now()
        )
        raise
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=ImportJob.Status.COMPLETED, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def _claim(job_id: int) -> ImportJob | None:
    now = timezone.now()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("store").filter(pk=job_id).first()
        if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING, ImportJob.Status.FAILED):
            return None
        if job.status == ImportJob.Status.RUNNING and job.heartbeat_at and now - job.heartbeat_at < LEASE:
            return None  # a live run holds it
        job.status, job.heartbeat_at, job.error = ImportJob.Status.RUNNING, now, ""
        job.started_at = job.started_at or now
        job.rejected_file_path = str(rejected_path(job))
        job.save(update_fields=["status", "heartbeat_at", "error", "started_at", "rejected_file_path"])
    return job


def _run_chunks(job: ImportJob, chunk_rows: int) -> None:
    validator = RowValidator(job.store, job)
    duplicates = DuplicateTracker()
    rejected = RejectedRows(job)
    chunks = _chunks(records(job), chunk_rows, job.processed_rows)
    # The planner must know how big the store is getting, or it reads the whole store per
    # lookup: statistics are refreshed now and each time the import doubles what it added.
    bulk.refresh_statistics()
    analyse_at = job.imported_rows + FIRST_ANALYZE_ROWS
    with closing(_checked_chunks(job, validator, chunks)) as checked_chunks:  # closing stops the helpers
        for chunk, checked in checked_chunks:
            if chunk[0][0] - 2 < job.processed_rows:
                # Written by an earlier run: re-read only to know which identifiers the file
                # already used (duplicates are judged file-wide).
                for row in checked:
                    if row is not None and not row.errors:
                        duplicates.check(row, validator.column_of)
                continue
            _import_chunk(job, len(chunk), checked, validator, duplicates, rejected)
            if job.imported_rows >= analyse_at:
                bulk.refresh_statistics()
                analyse_at = 2 * job.imported_rows


def _chunks(records, size: int, boundary: int):
    """Lists of up to `size` records; none straddles record `boundary` (the resume point)."""
    done = 0
    while True:
        take = min(size, boundary - done) if done < boundary else size
        chunk = list(islice(records, take))
        if not chunk:
            return
        done += len(chunk)
        yield chunk


def _checked_chunks(job: ImportJob, validator: RowValidator, chunks):
    """(chunk, checked rows) in file order. Checking (phonenumbers parsing, mostly) is most of
    an import's CPU, so with helper processes the next chunks are checked while the caller
    writes this one. If helpers cannot run, rows are checked here."""
    if IMPORT_HELPERS > 0:
        try:
            yield from _checked_by_helpers(job, validator, chunks)
            return
        except HelpersUnavailable as exc:
            logger.warning("import helpers unavailable, checking rows in the worker", extra={"job": job.pk, "reason": str(exc)})
            chunks = chain(exc.unchecked, chunks)
    for chunk in chunks:
        yield chunk, [validator.check(number, cells) for number, cells in chunk]


class HelpersUnavailable(Exception):
    def __init__(self, reason: str, unchecked: list):
        super().__init__(reason)
        self.unchecked = unchecked


def _checked_by_helpers(job: ImportJob, validator: RowValidator, chunks):
    # spawn, never fork: this process holds database connections and worker threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(IMPORT_HELPERS, mp_context=context, initializer=django.setup) as pool:
        pending: deque = deque()

        def submit_next() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                try:
                    pending.append((chunk, pool.submit(check_chunk, job.store, job, chunk)))
                except (RuntimeError, OSError) as exc:
                    raise HelpersUnavailable(str(exc), [c for c, _ in pending] + [chunk]) from exc

        for _ in range(IMPORT_HELPERS + 1):
            submit_next()
        while pending:
            chunk, future = pending[0]
            try:
                packed = future.result()
            except BrokenProcessPool as exc:
                raise HelpersUnavailable(str(exc), [c for c, _ in pending]) from exc
            pending.popleft()
            submit_next()
            yield chunk, [unpack(number, cells, row, validator.width) for (number, cells), row in zip(chunk, packed)]


def _import_chunk(job: ImportJob, size: int, checked_rows: list, validator: RowValidator, duplicates: DuplicateTracker,
                  rejected: RejectedRows) -> None:
    good: list[bulk.ProfileRow] = []
    bad: list[tuple[CheckedRow, list]] = []
    checked_by_number: dict[int, CheckedRow] = {}
    for checked in checked_rows:
        if checked is None:
            continue
        if not checked.errors and (duplicate := duplicates.check(checked, validator.column_of)):
            checked.errors.append(duplicate)
        if checked.errors:
            bad.append((checked, checked.errors))
        else:
            good.append(checked.row)
            checked_by_number[checked.number] = checked
    for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                _write_chunk(job, size, good, bad, checked_by_number, validator, rejected)
            return
        except IntegrityError:
            # A profile with one of these identifiers was written concurrently (API,
            # webhook): undo the file append and redo the chunk against the new state.
            rejected.truncate_to(job.rejected_rows)
            if attempt == MAX_WRITE_ATTEMPTS:
                raise


def _write_chunk(job, size, good, bad, checked_by_number, validator, rejected) -> None:
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status != ImportJob.Status.RUNNING or locked.processed_rows != job.processed_rows:
        raise ImportSuperseded()
    outcome = bulk.upsert_profiles(job.store, good, source="import", consent_source=CONSENT_SOURCE)
    refused = [(checked_by_number[ref], [(validator.column_of.get(field, ""), reason)]) for ref, field, reason in outcome.rejected]
    all_bad = sorted(bad + refused, key=lambda item: item[0].number)
    rejected.append(all_bad)
    sample = list(locked.errors_sample)
    for checked, errors in all_bad:
        for column, reason in errors:
            if len(sample) < ERRORS_SAMPLE_SIZE:
                sample.append({"row": checked.number, "column": column, "reason": reason})
    skipped_sample = list(locked.consent_skipped_sample)
    consent_column = validator.column_of.get("consent_status", "")
    for ref, reason in outcome.consent_skipped[: max(0, ERRORS_SAMPLE_SIZE - len(skipped_sample))]:
        skipped_sample.append({"row": ref, "column": consent_column, "reason": reason})
    counts = {
        "processed_rows": locked.processed_rows + size,
        "imported_rows": locked.imported_rows + outcome.created,
        "updated_rows": locked.updated_rows + outcome.updated,
        "rejected_rows": locked.rejected_rows + len(all_bad),
        "consent_skipped_rows": locked.consent_skipped_rows + len(outcome.consent_skipped),
    }
    ImportJob.objects.filter(pk=job.pk).update(**counts, errors_sample=sample, consent_skipped_sample=skipped_sample,
                                               heartbeat_at=timezone.now())
    for name, value in counts.items():
        setattr(job, name, value)
    job.errors_sample, job.consent_skipped_sample = sample, skipped_sample
