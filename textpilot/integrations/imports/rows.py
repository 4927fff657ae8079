"""Row validation of an import: one CSV record -> clean profile fields, tags and a consent
change, or the reasons it can't be imported (each with its column); duplicates within the
file; and the compact form checked rows travel in between a helper process and the worker.

The rules are profiles.service.clean_profile_fields plus what only a file has (consent
columns in words, dates in a few spellings, tag lists in one cell). Values that repeat
across rows (names, cities, dates) are checked once and cached, with bounded memory. A
damaged cell (a NUL byte, a quote never closed) fails its own row, naming its column, and
the file's good rows still import."""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils import timezone

from textpilot.common import inputs
from textpilot.common.errors import FieldError
from textpilot.integrations.imports.mapping import IDENTIFIER_TARGETS, PROFILE_TARGETS, REPEATABLE_TARGETS, property_keys
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles import bulk
from textpilot.profiles.models import ConsentStatus
from textpilot.profiles.service import clean_profile_fields
from textpilot.stores.models import Store

DATE_CACHE_SIZE = 50_000
REPEAT_CACHE_SIZE = 200_000
# Cleaned row by row (they differ per row; a phone is read in the row's country). The other
# profile fields repeat across rows (names, cities, languages) and are cleaned once per value.
PER_ROW_FIELDS = ("phone", "email", "external_id", "country")
CONSENT_VALUES = {
    ConsentStatus.SUBSCRIBED: {"yes", "y", "true", "t", "1", "subscribed", "opted in", "opt in", "optin", "confirmed"},
    ConsentStatus.UNSUBSCRIBED: {"unsubscribed", "opted out", "opt out", "optout", "stop", "stopped", "revoked"},
    # "No" says consent was not given; it does not revoke consent proven elsewhere.
    None: {"no", "n", "false", "f", "0", "never", "not subscribed", "never subscribed"},
}
TAG_SPLIT_RE = re.compile(r"[,;|]")


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
        # Cells read into the profile: checked for damage before anything else. A property
        # (free text: notes) may span lines; a name, phone, tag or consent value never does.
        self.used = sorted({i for i, _ in self.fields} | set(self.special.values()) | {i for i, _ in self.properties})
        self.free_text = {i for i, _ in self.properties}
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
        cells = self._undamaged(cells, errors)
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

    def _undamaged(self, cells: list[str], errors: list) -> list[str]:
        """The row's cells with damaged ones blanked, each reported with its column: a NUL
        character (no database stores it), or a quote that was opened and never closed, so
        the csv reader read the lines after it into this cell (the rows that follow are lost
        into it: the file must be fixed, and saying so beats importing "Bob\n+1415…" as a name)."""
        damaged = None
        for i in self.used:
            cell = cells[i]
            if "\x00" in cell:
                reason = f"this value {inputs.NUL_MESSAGE}"
            elif ("\n" in cell or "\r" in cell) and self._reads_past_a_record(i, cell):
                reason = ('this value runs over several lines: a quote (") in it is not closed, so the lines after it '
                          'were read into it; close or remove the quote and upload the file again')
            else:
                continue
            errors.append((self.job.columns[i], reason))
            damaged = damaged or list(cells)
            damaged[i] = ""
        return damaged or cells

    def _reads_past_a_record(self, index: int, cell: str) -> bool:
        """Does a cell over several lines hold what looks like the next records? Always for a
        profile field; for free text (a property), when a later line has a record's delimiters."""
        if index not in self.free_text:
            return True
        needed = max(1, self.width - 1)
        return any(line.count(self.job.delimiter) >= needed for line in cell.splitlines()[1:])

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


# --- checking in a helper process ------------------------------------------------------------

_helper_validators: dict[int, RowValidator] = {}


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


def unpack(number: int, cells: list[str], packed, width: int) -> CheckedRow | None:
    if packed is None:
        return None
    fields, tags, consent, errors = packed
    consent = bulk.ConsentChange(*consent) if consent else None
    cells = cells + [""] * (width - len(cells))
    return CheckedRow(number, cells, bulk.ProfileRow(ref=number, fields=fields, tags=tags, consent=consent), errors)
