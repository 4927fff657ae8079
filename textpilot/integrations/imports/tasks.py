"""Worker tasks of the CSV import (named domain.action)."""
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from textpilot.integrations.imports import service


@db_task(name="imports.run_csv_import", retries=2, retry_delay=30)
def run_csv_import(job_id: int) -> None:
    """Import a queued job in chunks; a retry resumes at its first unprocessed row."""
    service.run_import(job_id)


@db_periodic_task(crontab(minute="*/5"), name="imports.resume_stalled_imports")
def resume_stalled_imports() -> None:
    """Requeue imports whose worker died (killed, redeployed): they resume where they stopped."""
    for job_id in service.stalled_import_ids():
        run_csv_import(job_id)
