"""The CSV import's part of an erase request (registered in ImportsConfig.ready): uploaded
files and rejected-row files lose every line that mentions the person (the header stays), and
the error and skipped-consent samples shown on the report drop their rows."""
import json
import os
from pathlib import Path

from textpilot.common.privacy import Erasure
from textpilot.integrations.imports.models import ImportJob


def erase_from_imports(erasure: Erasure) -> int:
    redacted = 0
    for job in ImportJob.objects.filter(store=erasure.store):
        for path in (job.file_path, job.rejected_file_path):
            if path:
                redacted += _drop_lines_mentioning(path, erasure)
        for sample in ("errors_sample", "consent_skipped_sample"):
            rows = getattr(job, sample)
            if rows and erasure.mentions(json.dumps(rows, default=str)):
                kept = [row for row in rows if not erasure.mentions(json.dumps(row, default=str))]
                ImportJob.objects.filter(pk=job.pk).update(**{sample: kept})
    return redacted


def _drop_lines_mentioning(path: str, erasure: Erasure) -> int:
    file = Path(path)
    if not file.is_file():
        return 0
    lines = file.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    kept = [line for index, line in enumerate(lines) if index == 0 or not erasure.mentions(line)]
    if len(kept) == len(lines):
        return 0
    tmp = file.with_suffix(file.suffix + ".redacting")
    tmp.write_text("".join(kept), encoding="utf-8")
    os.replace(tmp, file)
    return len(lines) - len(kept)
