"""The import's files on disk: the stored upload (size limit, UTF-8 check, delimiter and
header sniffing, row count), reading its records back, and the rejected-rows CSV.

Nothing here touches the database: the service records what these functions found on the
ImportJob, and the runner reads and writes the files of a job it holds."""
import csv
import os
import re
import secrets
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from textpilot.common.errors import DomainError, FieldError
from textpilot.integrations.imports.models import ImportJob
from textpilot.stores.models import Store

if TYPE_CHECKING:
    from textpilot.integrations.imports.rows import CheckedRow

# Uploads above this are refused before they are parsed. Read once at import time: an
# operator changes it with the environment and a restart, like every other limit.
MAX_IMPORT_BYTES = int(os.environ.get("TEXTPILOT_MAX_IMPORT_BYTES", str(200 * 1024 * 1024)))
SNIFF_BYTES = 64 * 1024
READ_BLOCK = 1024 * 1024
DELIMITERS = ",;\t"


class FileTooLarge(DomainError):
    status_code = 413


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


def new_upload_path(store: Store, upload) -> Path:
    """Where a store's upload goes (a fresh random name); refuses a declared size over the limit
    before anything is written."""
    if getattr(upload, "size", None) and upload.size > MAX_IMPORT_BYTES:
        raise _too_large()
    folder = Path(settings.DATA_DIR) / "imports" / str(store.pk)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{secrets.token_hex(8)}.csv"


def store_upload(upload, path: Path) -> int:
    """Copy the upload (a Django UploadedFile or any binary file) to `path`; its size in bytes.
    Counting as it copies catches a body larger than it declared."""
    size = 0
    chunks = upload.chunks(READ_BLOCK) if hasattr(upload, "chunks") else iter(lambda: upload.read(READ_BLOCK), b"")
    with open(path, "wb") as out:
        for block in chunks:
            size += len(block)
            if size > MAX_IMPORT_BYTES:
                raise _too_large()
            out.write(block)
    return size


def check_utf8(path: Path) -> str:
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


def inspect_upload(path: Path, encoding: str) -> tuple[str, list[str], int]:
    """(delimiter, column names, number of records after the header) of a stored upload."""
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


# --- reading back ----------------------------------------------------------------------------

def records(job: ImportJob):
    """(row number, cells) of every record after the header. Row numbers are spreadsheet
    rows: the header is row 1."""
    with open(job.file_path, encoding=job.encoding, newline="") as file:
        reader = csv.reader(file, delimiter=job.delimiter)
        next(reader, None)
        for number, cells in enumerate(reader, start=2):
            yield number, cells


def rejected_path(job: ImportJob) -> Path:
    """The rejected-rows file of a job: the one recorded on it, else next to the upload."""
    return Path(job.rejected_file_path or Path(job.file_path).with_suffix(".rejected.csv"))


class RejectedRows:
    """The rejected-rows CSV: the original columns plus 'error'. Rows of a chunk are appended
    before its commit; a new run first cuts the file back to the committed count."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.path = rejected_path(job)
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

    def append(self, rows: "list[tuple[CheckedRow, list[tuple[str, str]]]]") -> None:
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
