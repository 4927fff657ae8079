"""CSV import of customers: store the upload, check it (UTF-8, delimiter, header), suggest a
column mapping, preview rows, then import in chunks from the worker.

Each chunk is validated row by row and written in one transaction together with the job's
`processed_rows` cursor, so a crash leaves no half-written chunk and a new run resumes at
the first unprocessed row. Row numbers are spreadsheet rows: the header is row 1."""
import csv
import gc
import logging
import multiprocessing
import os
import re
import secrets
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from itertools import chain, islice
from pathlib import Path
from zoneinfo import ZoneInfo

import django
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from textpilot.common.tasks import enqueue_on_commit
from textpilot.common.errors import Conflict, DomainError, FieldError, NotFound
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles import bulk
from textpilot.profiles.models import ConsentStatus
from textpilot.profiles.service import clean_profile_fields
from textpilot.stores.models import Store

logger = logging.getLogger("textpilot.imports")

# Uploads above this are refused before they are parsed. Read once at import time: an
# operator changes it with the environment and a restart, like every other limit.
MAX_IMPORT_BYTES = int(os.environ.get("TEXTPILOT_MAX_IMPORT_BYTES", str(200 * 1024 * 1024)))
CHUNK_ROWS = 2000
GC_THRESHOLD = 100_000
FIRST_ANALYZE_ROWS = 10_000
# Helper processes that check rows while the worker writes (0: check inline). One is enough
# to overlap checking with writing; set TEXTPILOT_IMPORT_HELPERS=0 on a one-core machine.
IMPORT_HELPERS = int(os.environ.get("TEXTPILOT_IMPORT_HELPERS", "1" if (os.cpu_count() or 1) > 1 else "0"))
PREVIEW_ROWS = 10
ERRORS_SAMPLE_SIZE = 100
DATE_CACHE_SIZE = 50_000
REPEAT_CACHE_SIZE = 200_000
SNIFF_BYTES = 64 * 1024
READ_BLOCK = 1024 * 1024
DELIMITERS = ",;\t"
# A run that has not reported for this long is taken to be dead and may be taken over.
LEASE = timedelta(minutes=5)
CONSENT_SOURCE = "import"
MAX_WRITE_ATTEMPTS = 3

# Mapping targets: csv column -> one of these. Each may be used once, except property/skip.
PROFILE_TARGETS = ("phone", "email", "external_id", "first_name", "last_name", "gender", "language", "country", "region", "city",
                   "timezone")
TARGETS = {
    "phone": "Phone", "email": "Email", "external_id": "Customer ID", "first_name": "First name", "last_name": "Last name",
    "gender": "Gender", "language": "Language", "country": "Country", "region": "State / province", "city": "City", "timezone": "Time zone",
    "tags": "Tags", "consent_status": "SMS consent", "consent_date": "Consent date", "consent_source": "Consent source",
    "property": "Custom property", "skip": "Don't import",
}
REPEATABLE_TARGETS = ("property", "skip")
IDENTIFIER_TARGETS = ("phone", "email", "external_id")
# Cleaned row by row (they differ per row; a phone is read in the row's country). The other
# profile fields repeat across rows (names, cities, languages) and are cleaned once per value.
PER_ROW_FIELDS = ("phone", "email", "external_id", "country")
# Header spellings seen in exports (Shopify, Klaviyo, spreadsheets), compared without case,
# spaces or punctuation.
HEADER_SYNONYMS = {
    "phone": ("phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cell", "cellphone", "telephone", "tel",
              "smsnumber", "smsphone", "msisdn", "defaultaddressphone"),
    "email": ("email", "emailaddress", "mail"),
    "external_id": ("customerid", "externalid", "shopifyid", "shopifycustomerid", "id", "userid"),
    "first_name": ("firstname", "givenname", "first", "forename"),
    "last_name": ("lastname", "surname", "familyname", "last"),
    "gender": ("gender", "sex"),
    "language": ("language", "locale", "lang"),
    "country": ("country", "countrycode", "defaultaddresscountrycode"),
    "region": ("state", "province", "region", "statecode", "provincecode", "defaultaddressprovincecode", "stateprovince"),
    "city": ("city", "town", "defaultaddresscity"),
    "timezone": ("timezone", "tz"),
    "tags": ("tags", "tag", "labels"),
    "consent_status": ("smsconsent", "consent", "acceptssmsmarketing", "smsmarketing", "smssubscribed", "smsoptin",
                       "optin", "smsstatus", "subscribed", "smsmarketingconsent", "smssubscriptionstatus"),
    "consent_date": ("consentdate", "smsconsentdate", "optindate", "subscribedat", "consentedat", "consenttimestamp",
                     "smsconsentcollectedat", "smsmarketingconsentupdatedat"),
    "consent_source": ("consentsource", "smsconsentsource", "optinsource", "smsconsentcollectedfrom"),
}
CONSENT_VALUES = {
    ConsentStatus.SUBSCRIBED: {"yes", "y", "true", "t", "1", "subscribed", "opted in", "opt in", "optin", "confirmed"},
    ConsentStatus.UNSUBSCRIBED: {"unsubscribed", "opted out", "opt out", "optout", "stop", "stopped", "revoked"},
    # "No" says consent was not given; it does not revoke consent proven elsewhere.
    None: {"no", "n", "false", "f", "0", "never", "not subscribed", "never subscribed"},
}
TAG_SPLIT_RE = re.compile(r"[,;|]")


class FileTooLarge(DomainError):
    status_code = 413


class ImportSuperseded(Exception):
    """Another run moved the job's cursor: this one stops without writing."""


def import_limit_text() -> str:
    mb = 1024 * 1024
    return f"{MAX_IMPORT_BYTES // mb} MB" if MAX_IMPORT_BYTES % mb == 0 else f"{MAX_IMPORT_BYTES:,} bytes"


def _too_large() -> FileTooLarge:
    return FileTooLarge(f"file is larger than the import limit of {import_limit_text()}", field="file")


# --- upload ----------------------------------------------------------------------------------

def check_declared_size(content_length) -> None:
    """Refuse a too-large request from its Content-Length, before the body is read."""
    try:
        declared = int(content_length or 0)
    except ValueError:
        return
    if declared > MAX_IMPORT_BYTES + 64 * 1024:  # multipart framing adds a little
        raise _too_large()


def create_import(store: Store, upload, filename: str, user=None) -> ImportJob:
    """Store the upload and inspect it; refuse it (storing nothing) if it cannot be imported."""
    filename = Path(filename or "customers.csv").name[:255] or "customers.csv"
    if getattr(upload, "size", None) and upload.size > MAX_IMPORT_BYTES:
        raise _too_large()
    folder = Path(settings.DATA_DIR) / "imports" / str(store.pk)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}.csv"
    try:
        size = _store_upload(upload, path)
        encoding = _check_utf8(path)
        delimiter, columns, total_rows = _inspect(path, encoding)
        return ImportJob.objects.create(
            store=store, original_filename=filename, file_path=str(path), size_bytes=size, encoding=encoding,
            delimiter=delimiter, columns=columns, mapping=suggest_mapping(columns), total_rows=total_rows,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _store_upload(upload, path: Path) -> int:
    size = 0
    chunks = upload.chunks(READ_BLOCK) if hasattr(upload, "chunks") else iter(lambda: upload.read(READ_BLOCK), b"")
    with open(path, "wb") as out:
        for block in chunks:
            size += len(block)
            if size > MAX_IMPORT_BYTES:
                raise _too_large()
            out.write(block)
    return size


def _check_utf8(path: Path) -> str:
    """'utf-8-sig' when the file starts with a BOM, else 'utf-8'; refuse anything else,
    naming the first bad byte and its line."""
    lines_before, pending = 0, b""
    with open(path, "rb") as file:
        has_bom = file.read(3) == b"\xef\xbb\xbf"
        if not has_bom:
            file.seek(0)
        while True:
            block = file.read(READ_BLOCK)
            data = pending + block
            # A newline byte never occurs inside a multi-byte UTF-8 sequence: cut there.
            cut = len(data) if not block else data.rfind(b"\n") + 1
            complete, pending = data[:cut], data[cut:]
            try:
                complete.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = lines_before + complete.count(b"\n", 0, exc.start) + 1
                raise FieldError(
                    f"file is not UTF-8 (byte 0x{complete[exc.start]:02X} at line {line}): "
                    "save it as 'CSV UTF-8' and upload it again", field="file",
                ) from None
            lines_before += complete.count(b"\n")
            if not block:
                return "utf-8-sig" if has_bom else "utf-8"


def _inspect(path: Path, encoding: str) -> tuple[str, list[str], int]:
    with open(path, encoding=encoding, newline="") as file:
        sample = file.read(SNIFF_BYTES)
    if not sample.strip():
        raise FieldError("file is empty", field="file")
    delimiter = _sniff_delimiter(sample)
    with open(path, encoding=encoding, newline="") as file:
        reader = csv.reader(file, delimiter=delimiter)
        try:
            header = next(reader)
            columns = _header_columns(header)
            total_rows = sum(1 for _ in reader)
        except csv.Error as exc:
            raise FieldError(f"file is not readable as CSV (line {reader.line_num}: {exc})", field="file") from None
    if total_rows == 0:
        raise FieldError("file has a header row but no customer rows", field="file")
    return delimiter, columns, total_rows


def _sniff_delimiter(sample: str) -> str:
    if len(sample) == SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rfind("\n")]  # don't judge by a cut-off last line
    first_line = sample.splitlines()[0] if sample.splitlines() else sample
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = None
    if found is None or (found not in first_line and any(d in first_line for d in DELIMITERS)):
        # The sniffer gives up on one-column files and can be fooled by commas inside
        # quoted names: fall back to what separates the header.
        found = max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","
    return found


def _header_columns(header: list[str]) -> list[str]:
    columns = [cell.strip() or f"column_{index}" for index, cell in enumerate(header, start=1)]
    seen: dict[str, int] = {}
    for index, name in enumerate(columns, start=1):
        if name.lower() in seen:
            raise FieldError(
                f"column {name!r} appears twice in the header (columns {seen[name.lower()]} and {index}): rename one",
                field="file",
            )
        seen[name.lower()] = index
    for name in columns:
        if "@" in name or (len(re.sub(r"\D", "", name)) >= 7 and re.fullmatch(r"[\d\s()+.\-]+", name)):
            raise FieldError(
                f"the first row looks like customer data ({name!r}), not column names: add a header row", field="file"
            )
    return columns


# --- mapping ---------------------------------------------------------------------------------

def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def suggest_mapping(columns: list[str]) -> dict[str, str]:
    """Guess a target per column from its name; unknown columns become custom properties."""
    by_key = {synonym: target for target, synonyms in HEADER_SYNONYMS.items() for synonym in synonyms}
    mapping, used = {}, set()
    for column in columns:
        target = by_key.get(_header_key(column))
        if column.startswith("column_") and _header_key(column[7:]).isdigit():
            target = "skip"  # a column without a name
        elif target is None or target in used:
            target = "property"
        used.add(target)
        mapping[column] = target
    return mapping


def clean_mapping(columns: list[str], mapping) -> dict[str, str]:
    """A full mapping (every column) or FieldError naming the column at fault."""
    if not isinstance(mapping, dict):
        raise FieldError("mapping must be an object of column name -> target", field="mapping")
    clean = {column: "skip" for column in columns}
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if column not in clean:
            raise FieldError(f"the file has no column named {column!r}", field=f"mapping.{column}")
        if target is None or (isinstance(target, str) and not target.strip()):
            target = "skip"
        target = target.strip() if isinstance(target, str) else target
        if target not in TARGETS:
            raise FieldError(f"{target!r} is not an import target (use one of {', '.join(TARGETS)})", field=f"mapping.{column}")
        if target not in REPEATABLE_TARGETS:
            if target in used:
                raise FieldError(f"columns {used[target]!r} and {column!r} are both mapped to {target}", field=f"mapping.{column}")
            used[target] = column
        clean[column] = target
    if not any(target in used for target in IDENTIFIER_TARGETS):
        raise FieldError("map at least one column to phone, email or customer ID: rows need an identifier", field="mapping")
    for dependent in ("consent_date", "consent_source"):
        if dependent in used and "consent_status" not in used:
            raise FieldError(f"{TARGETS[dependent].lower()} needs a column mapped to SMS consent", field=f"mapping.{used[dependent]}")
    return clean


def property_keys(mapping: dict[str, str]) -> dict[str, str]:
    """Column -> key in profile.properties for columns mapped to 'property'."""
    keys, taken = {}, {"tags"} if "tags" in mapping.values() else set()
    for column, target in mapping.items():
        if target != "property":
            continue
        key = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_") or "column"
        unique, n = key, 2
        while unique in taken:
            unique, n = f"{key}_{n}", n + 1
        keys[column] = unique
        taken.add(unique)
    return keys


# --- row validation --------------------------------------------------------------------------

@dataclass
class CheckedRow:
    number: int
    cells: list[str]
    row: bulk.ProfileRow
    errors: list[tuple[str, str]]  # (column, reason)


class RowValidator:
    """Turns a CSV record into clean profile fields by the rules of
    profiles.service.clean_profile_fields, collecting every error with its column."""

    def __init__(self, store: Store, job: ImportJob, mapping: dict[str, str] | None = None):
        self.store, self.job = store, job
        self.mapping = mapping if mapping is not None else job.mapping
        self.tz = ZoneInfo(store.timezone or "UTC")
        self.width = len(job.columns)
        index = {column: i for i, column in enumerate(job.columns)}
        self.column_of = {target: column for column, target in self.mapping.items() if target not in REPEATABLE_TARGETS}
        self.fields = [(index[self.column_of[t]], t) for t in PROFILE_TARGETS if t in self.column_of]
        self.properties = [(index[column], key) for column, key in property_keys(self.mapping).items()]
        self.special = {t: index[self.column_of[t]] for t in ("tags", "consent_status", "consent_date", "consent_source") if t in self.column_of}
        self.identifier_column = next(self.column_of[t] for t in IDENTIFIER_TARGETS if t in self.column_of)
        # Dates after the upload (plus a day of clock/time-zone slack) are typos; the bound is
        # fixed per job so a resumed run judges every row exactly as the first run did.
        self.latest_date = (job.created_at or timezone.now()) + timedelta(days=1)
        self.dates: dict[str, datetime | None] = {}
        self.repeating: dict[tuple[str, str], tuple] = {}

    def check(self, number: int, cells: list[str]) -> CheckedRow | None:
        """None for a blank record; otherwise the row and its errors (empty when importable)."""
        if not any(cell.strip() for cell in cells):
            return None
        errors: list[tuple[str, str]] = []
        if len(cells) > self.width and any(cell.strip() for cell in cells[self.width:]):
            errors.append(("", f"row has {len(cells)} values but the header has {self.width} columns (a value with an unquoted delimiter?)"))
        cells = cells + [""] * (self.width - len(cells))
        raw, repeating = {}, []
        for i, field in self.fields:
            value = cells[i].strip()
            if value:
                if field in PER_ROW_FIELDS:
                    raw[field] = value
                else:
                    repeating.append((field, value))
        props = {key: cells[i].strip() for i, key in self.properties if cells[i].strip()}
        if props:
            raw["properties"] = props
        fields = self._clean(raw, errors)
        for field, value in repeating:
            clean, error = self._clean_repeating(field, value)
            if error:
                errors.append((self.column_of[field], error))
            else:
                fields[field] = clean
        if not any(fields.get(name) for name in IDENTIFIER_TARGETS) and not any(
            column == self.column_of.get(name) for column, _ in errors for name in IDENTIFIER_TARGETS
        ):
            errors.append((self.identifier_column, "row has no phone, email or customer ID"))
        consent = self._consent(number, cells, fields, errors)
        tags = self._tags(cells)
        return CheckedRow(number, cells, bulk.ProfileRow(ref=number, fields=fields, tags=tags, consent=consent), errors)

    def _clean_repeating(self, field: str, value: str) -> tuple:
        """(clean value, error) of a field whose values repeat across rows (names, cities…), computed once."""
        key = (field, value)
        if key not in self.repeating:
            try:
                result = (clean_profile_fields(self.store, {field: value})[field], None)
            except FieldError as exc:
                result = (None, exc.message)
            if len(self.repeating) >= REPEAT_CACHE_SIZE:
                return result
            self.repeating[key] = result
        return self.repeating[key]

    def _clean(self, raw: dict, errors: list) -> dict:
        while True:
            try:
                return clean_profile_fields(self.store, raw)
            except FieldError as exc:
                errors.append((self.column_of.get(exc.field, ""), exc.message))
                if raw.pop(exc.field, None) is None:
                    return {}

    def _tags(self, cells: list[str]) -> list[str]:
        if "tags" not in self.special:
            return []
        tags: list[str] = []
        for tag in TAG_SPLIT_RE.split(cells[self.special["tags"]]):
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
        return tags

    def _consent(self, number: int, cells: list[str], fields: dict, errors: list) -> bulk.ConsentChange | None:
        if "consent_status" not in self.special:
            return None
        column = self.column_of["consent_status"]
        stated = cells[self.special["consent_status"]].strip()
        status = _consent_status(stated)
        if status is False:
            errors.append((column, f"{stated!r} is not a consent value: use yes/no, subscribed/unsubscribed, or leave it blank"))
            return None
        if status is None:
            return None
        if not fields.get("phone"):
            if not any(c == self.column_of.get("phone") for c, _ in errors):
                errors.append((column, "SMS consent needs a phone number"))
            return None
        date_text = cells[self.special["consent_date"]].strip() if "consent_date" in self.special else ""
        occurred_at = self.job.created_at
        if date_text:
            occurred_at = self._date(date_text, errors)
            if occurred_at is None:
                return None
        source = cells[self.special["consent_source"]].strip() if "consent_source" in self.special else ""
        evidence = [f"CSV import #{self.job.pk} of {self.job.original_filename!r}, row {number}: {column}={stated!r}"]
        evidence.append(f"consent date in file: {date_text!r}" if date_text else "no consent date in file (upload time used)")
        if source:
            evidence.append(f"consent source in file: {source!r}")
        return bulk.ConsentChange(status=status, occurred_at=occurred_at, consent_text="; ".join(evidence))

    def _date(self, text: str, errors: list) -> datetime | None:
        column = self.column_of["consent_date"]
        value = self.dates.get(text, ...)
        if value is ...:  # files repeat dates: parse each spelling once (bounded memory)
            value = parse_date(text, self.tz)
            if len(self.dates) < DATE_CACHE_SIZE:
                self.dates[text] = value
        if value is None:
            errors.append((column, f"{text!r} is not a date: use YYYY-MM-DD or ISO 8601 like 2024-01-31T14:30:00Z"))
        elif value > self.latest_date:
            errors.append((column, f"consent date {text!r} is in the future"))
            value = None
        return value


@lru_cache(maxsize=256)  # a file uses a handful of spellings
def _consent_status(stated: str):
    """subscribed / unsubscribed / None (no consent stated) / False (not a consent value)."""
    key = re.sub(r"[\s_\-]+", " ", stated.lower()).strip()
    if not key:
        return None
    for status, words in CONSENT_VALUES.items():
        if key in words:
            return status
    return False


def parse_date(text: str, tz: ZoneInfo) -> datetime | None:
    """ISO 8601 date or date-time (also with '/' or a trailing ' UTC'); naive times are store time."""
    text = text.strip()
    if re.match(r"^\d{4}/\d{1,2}/\d{1,2}", text):
        text = text.replace("/", "-", 2)
    if text.upper().endswith(" UTC"):
        text = text[:-4] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(ZoneInfo("UTC"))


class DuplicateTracker:
    """Identifiers of rows accepted so far in the file: a later row repeating one is a
    duplicate of that row. Phones are kept as integers (E.164 digits) to save memory."""

    LABELS = {"phone": "phone", "email": "email", "external_id": "customer ID"}

    def __init__(self):
        self.seen: dict[str, dict] = {name: {} for name in self.LABELS}

    def check(self, checked: CheckedRow, column_of: dict) -> tuple[str, str] | None:
        keys = {}
        for name in self.LABELS:
            value = checked.row.fields.get(name)
            if value:
                keys[name] = int(value[1:]) if name == "phone" else value
                earlier = self.seen[name].get(keys[name])
                if earlier is not None:
                    return column_of.get(name, ""), f"duplicate of row {earlier} (same {self.LABELS[name]})"
        for name, key in keys.items():
            self.seen[name][key] = checked.number
        return None


# --- preview, start, queries -----------------------------------------------------------------

def preview(store: Store, job: ImportJob, mapping: dict[str, str] | None = None, limit: int = PREVIEW_ROWS) -> list[dict]:
    """The first rows as they would be imported: per column the raw and the clean value, and errors."""
    mapping = clean_mapping(job.columns, mapping if mapping is not None else job.mapping)
    validator, duplicates = RowValidator(store, job, mapping), DuplicateTracker()
    keys = property_keys(mapping)
    rows = []
    for number, cells in islice(_records(job), limit):
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


# --- the run ---------------------------------------------------------------------------------

def _records(job: ImportJob):
    """(row number, cells) of every record after the header."""
    with open(job.file_path, encoding=job.encoding, newline="") as file:
        reader = csv.reader(file, delimiter=job.delimiter)
        next(reader, None)
        for number, cells in enumerate(reader, start=2):
            yield number, cells


class RejectedRows:
    """The rejected-rows CSV: the original columns plus 'error'. Rows of a chunk are appended
    before its commit; a new run first cuts the file back to the committed count."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.path = Path(job.rejected_file_path or Path(job.file_path).with_suffix(".rejected.csv"))
        self.truncate_to(job.rejected_rows)

    def truncate_to(self, count: int) -> None:
        kept = []
        if count and self.path.is_file():
            with open(self.path, encoding=self.job.encoding, newline="") as file:
                kept = list(islice(csv.reader(file, delimiter=self.job.delimiter), 1, count + 1))
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding=self.job.encoding, newline="") as file:
            writer = csv.writer(file, delimiter=self.job.delimiter)
            writer.writerow([*self.job.columns, "error"])
            writer.writerows(kept)
        os.replace(tmp, self.path)

    def append(self, rows: list[tuple[CheckedRow, list[tuple[str, str]]]]) -> None:
        if not rows:
            return
        with open(self.path, "a", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, delimiter=self.job.delimiter)
            for checked, errors in rows:
                writer.writerow([*checked.cells[: len(self.job.columns)], describe_errors(checked.number, errors)])
            file.flush()
            os.fsync(file.fileno())


def describe_errors(number: int, errors: list[tuple[str, str]]) -> str:
    return f"row {number}: " + "; ".join(f"{column}: {reason}" if column else reason for column, reason in errors)


def run_import(job_id: int, chunk_rows: int = CHUNK_ROWS) -> ImportJob | None:
    """Import (or resume) a queued job. Safe to call twice: a job another live run holds,
    or a finished one, is left alone."""
    job = _claim(job_id)
    if job is None:
        return ImportJob.objects.filter(pk=job_id).first()
    try:
        with fewer_gc_passes():
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


def _run_chunks(job: ImportJob, chunk_rows: int) -> None:
    validator = RowValidator(job.store, job)
    duplicates = DuplicateTracker()
    rejected = RejectedRows(job)
    chunks = _chunks(_records(job), chunk_rows, job.processed_rows)
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


def _checked_chunks(job: ImportJob, validator: "RowValidator", chunks):
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


def _checked_by_helpers(job: ImportJob, validator: "RowValidator", chunks):
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
            yield chunk, [_unpack(number, cells, row, validator.width) for (number, cells), row in zip(chunk, packed)]


_helper_validators: dict[int, "RowValidator"] = {}


def check_chunk(store: Store, job: ImportJob, chunk: list) -> list:
    """Runs in a helper process: the checked rows of one chunk as plain tuples (cheap to send
    back), one validator per job so its caches stay warm."""
    validator = _helper_validators.get(job.pk)
    if validator is None:
        _helper_validators.clear()
        validator = _helper_validators[job.pk] = RowValidator(store, job)
    return [_pack(validator.check(number, cells)) for number, cells in chunk]


def _pack(checked: CheckedRow | None):
    if checked is None:
        return None
    consent = checked.row.consent
    consent = (consent.status, consent.occurred_at, consent.consent_text) if consent else None
    return checked.row.fields, checked.row.tags, consent, checked.errors


def _unpack(number: int, cells: list[str], packed, width: int) -> CheckedRow | None:
    if packed is None:
        return None
    fields, tags, consent, errors = packed
    consent = bulk.ConsentChange(*consent) if consent else None
    cells = cells + [""] * (width - len(cells))
    return CheckedRow(number, cells, bulk.ProfileRow(ref=number, fields=fields, tags=tags, consent=consent), errors)


@contextmanager
def fewer_gc_passes():
    """An import allocates millions of short-lived containers while up to millions of
    identifiers stay alive for duplicate checks; at Python's default threshold (700) the
    collector rescans them constantly (measured: 10-25% of an import). Raised while any
    import runs in this process, then restored."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(GC_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


_gc_lock, _gc_users, _gc_saved = threading.Lock(), 0, gc.get_threshold()


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
        job.rejected_file_path = job.rejected_file_path or str(Path(job.file_path).with_suffix(".rejected.csv"))
        job.save(update_fields=["status", "heartbeat_at", "error", "started_at", "rejected_file_path"])
    return job


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
