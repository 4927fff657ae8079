"""A CSV import of customers (the job; its rows land in profiles through profiles.bulk)."""
from django.db import models

from textpilot.stores.models import StoreOwned


class ImportJob(StoreOwned):
    """A CSV upload of customers: mapped, validated and imported by the worker in chunks."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded (needs column mapping)"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    original_filename = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500, help_text="stored upload, under the data dir")
    size_bytes = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=32, default="utf-8")
    delimiter = models.CharField(max_length=1, default=",")
    columns = models.JSONField(default=list, help_text="header row")
    mapping = models.JSONField(default=dict, help_text="csv column -> profile field")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0, help_text="rows done; the resume point")
    imported_rows = models.PositiveIntegerField(default=0)
    updated_rows = models.PositiveIntegerField(default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    errors_sample = models.JSONField(default=list, help_text="first rejections: row, column, reason")
    # Rows imported without their consent change: an opt-in for a number whose STOP stands.
    consent_skipped_rows = models.PositiveIntegerField(default=0)
    consent_skipped_sample = models.JSONField(default=list, blank=True, help_text="first skipped consents: row, column, reason")
    rejected_file_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
