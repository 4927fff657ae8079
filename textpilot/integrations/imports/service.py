"""The CSV import's service: the functions the dashboard views, the API and the worker tasks
call (upload, preview, start, retry, queries, the run itself). Import of customers goes:
store the upload and check it (UTF-8, delimiter, header), suggest a column mapping, preview
rows, then import in chunks from the worker (runner.py).

The parts behind it: storage.py (files), mapping.py (columns -> targets), rows.py (row
checks), runner.py (the chunked, resumable run). Names the views and API show or check
(TARGETS, the size limit) are re-exported here so callers need this module only."""
from datetime import datetime
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from textpilot.common.errors import Conflict, NotFound
from textpilot.common.tasks import enqueue_on_commit
from textpilot.integrations.imports import storage
from textpilot.integrations.imports.mapping import PROFILE_TARGETS, TARGETS, clean_mapping, property_keys, suggest_mapping
from textpilot.integrations.imports.models import ImportJob
from textpilot.integrations.imports.rows import DuplicateTracker, RowValidator
from textpilot.integrations.imports.runner import LEASE, run_import
from textpilot.integrations.imports.storage import check_declared_size, import_limit_text
from textpilot.profiles import bulk
from textpilot.stores.models import Store

__all__ = [
    "TARGETS", "check_declared_size", "create_import", "discard_import", "get_import", "import_limit_text", "list_imports",
    "preview",
    "progress_percent", "rejected_file", "retry_import", "run_import", "stalled_import_ids", "start_import",
]

PREVIEW_ROWS = 10


def create_import(store: Store, upload, filename: str, user=None) -> ImportJob:
    """Store the upload and inspect it; refuse it (storing nothing) if it cannot be imported."""
    filename = Path(filename or "customers.csv").name[:255] or "customers.csv"
    path = storage.new_upload_path(store, upload)
    try:
        size = storage.store_upload(upload, path)
        encoding = storage.check_utf8(path)
        delimiter, columns, total_rows = storage.inspect_upload(path, encoding)
        return ImportJob.objects.create(
            store=store, original_filename=filename, file_path=str(path), size_bytes=size, encoding=encoding,
            delimiter=delimiter, columns=columns, mapping=suggest_mapping(columns), total_rows=total_rows,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def preview(store: Store, job: ImportJob, mapping: dict[str, str] | None = None, limit: int = PREVIEW_ROWS) -> list[dict]:
    """The first rows as they would be imported: per column the raw and the clean value, and errors."""
    mapping = clean_mapping(job.columns, mapping if mapping is not None else job.mapping)
    validator, duplicates = RowValidator(store, job, mapping), DuplicateTracker()
    keys = property_keys(mapping)
    rows = []
    for number, cells in islice(storage.records(job), limit):
        checked = validator.check(number, cells)
        if checked is None:
            continue
        if not checked.errors and (duplicate := duplicates.check(checked, validator.column_of)):
            checked.errors.append(duplicate)
        bad = {column for column, _ in checked.errors}
        rows.append({
            "row": number,
            "cells": [
                {"column": column, "target": mapping[column], "target_label": TARGETS[mapping[column]], "raw": checked.cells[i],
                 "value": _shown_value(checked.row, mapping[column], keys.get(column), validator.tz), "bad": column in bad}
                for i, column in enumerate(job.columns)
            ],
            "errors": [{"column": column, "reason": reason} for column, reason in checked.errors],
        })
    return rows


def _shown_value(row: bulk.ProfileRow, target: str, key: str | None, tz: ZoneInfo) -> str:
    if target in PROFILE_TARGETS:
        return row.fields.get(target) or ""
    if target == "property":
        return row.fields.get("properties", {}).get(key, "")
    if target == "tags":
        return ", ".join(row.tags)
    if target == "consent_status":
        return row.consent.status if row.consent else "no change"
    if target == "consent_date" and row.consent:
        return row.consent.occurred_at.astimezone(tz).isoformat(timespec="minutes")
    return ""


def start_import(store: Store, job_id: int, mapping) -> ImportJob:
    """Confirm the mapping and queue the import (the worker picks it up after commit)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(store=store, pk=job_id).first()
        if job is None:
            raise NotFound(f"no import {job_id} in this store", field="import_id")
        if job.status != ImportJob.Status.UPLOADED:
            raise Conflict(f"this import was already started (status: {job.status})", field="mapping")
        job.mapping = clean_mapping(job.columns, mapping)
        job.status = ImportJob.Status.QUEUED
        job.save(update_fields=["mapping", "status"])
        enqueue_on_commit("imports.run_csv_import", job.pk)
    return job


def retry_import(store: Store, job_id: int) -> ImportJob:
    """Queue a failed import again; it resumes at its first unprocessed row."""
    job = get_import(store, job_id)
    if job.status != ImportJob.Status.FAILED:
        raise Conflict("only a failed import can be retried", field="import_id")
    ImportJob.objects.filter(store=store, pk=job.pk, status=ImportJob.Status.FAILED).update(status=ImportJob.Status.QUEUED)
    enqueue_on_commit("imports.run_csv_import", job.pk)
    job.refresh_from_db()
    return job


def discard_import(store: Store, job_id: int) -> ImportJob:
    """Delete an upload that was never started, with its stored file: nothing was imported
    from it, so nothing else points at it. An import that ran stays (its report is the record
    of what it changed)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(store=store, pk=job_id).first()
        if job is None:
            raise NotFound(f"no import {job_id} in this store", field="import_id")
        if job.status != ImportJob.Status.UPLOADED:
            raise Conflict("only an upload that was never started can be discarded", field="import_id")
        job.delete()
        path = Path(job.file_path)
        transaction.on_commit(lambda: path.unlink(missing_ok=True))
    return job


def stalled_import_ids(now: datetime | None = None) -> list[int]:
    """Queued or running jobs nobody has reported on for a lease: their worker died."""
    cutoff = (now or timezone.now()) - LEASE
    running = ImportJob.objects.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=cutoff)
    queued = ImportJob.objects.filter(status=ImportJob.Status.QUEUED, created_at__lt=cutoff, heartbeat_at__isnull=True)
    return sorted(set(running.values_list("pk", flat=True)) | set(queued.values_list("pk", flat=True)))


def get_import(store: Store, job_id: int) -> ImportJob:
    job = ImportJob.objects.filter(store=store, pk=job_id).first()
    if job is None:
        raise NotFound(f"no import {job_id} in this store", field="import_id")
    return job


def list_imports(store: Store):
    return ImportJob.objects.filter(store=store).order_by("-created_at", "-id")


def progress_percent(job: ImportJob) -> int:
    if job.status == ImportJob.Status.COMPLETED:
        return 100
    return min(100, job.processed_rows * 100 // job.total_rows) if job.total_rows else 0


def rejected_file(store: Store, job_id: int) -> Path:
    job = get_import(store, job_id)
    path = Path(job.rejected_file_path) if job.rejected_file_path else None
    if not job.rejected_rows or path is None or not path.is_file():
        raise NotFound("this import has no rejected rows", field="import_id")
    return path
