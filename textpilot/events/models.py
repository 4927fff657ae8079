"""Behaviour events: what a profile did (viewed a product, started checkout, clicked a link…)."""
from django.db import models
from django.utils import timezone

from textpilot.profiles.models import Profile
from textpilot.stores.models import StoreOwned


class Event(StoreOwned):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=64, help_text="viewed_product, started_checkout, placed_order, clicked_link, …")
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    source = models.CharField(max_length=32, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "idempotency_key"], condition=models.Q(idempotency_key__isnull=False), name="event_unique_idempotency"
            )
        ]
        indexes = [
            # Segment conditions like "viewed a product twice in 30 days" scan by (store, name, time).
            models.Index(fields=["store", "name", "occurred_at", "profile"], name="event_store_name_time"),
            models.Index(fields=["profile", "occurred_at"], name="event_profile_time"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ShopifyConnection(StoreOwned):
    """A store's link to its Shopify shop. Secrets are encrypted (common.crypto)."""

    shop_domain = models.CharField(max_length=255, unique=True, help_text="acme.myshopify.com")
    access_token_encrypted = models.TextField(blank=True)
    webhook_secret_encrypted = models.TextField(blank=True, help_text="app secret that signs webhooks")
    api_version = models.CharField(max_length=16, default="2025-01")
    api_base_url = models.URLField(blank=True, help_text="override of https://<shop>/admin/api/<version> (tests, proxies)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store"], name="shopify_one_connection_per_store")]


class WebhookDelivery(StoreOwned):
    """A webhook as received: stored raw first (answer fast), processed by the worker."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (older than stored state)"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=16, default="shopify")
    topic = models.CharField(max_length=64)
    webhook_id = models.CharField(max_length=128)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "source", "webhook_id"], name="webhook_unique_delivery")
        ]
        indexes = [models.Index(fields=["store", "status", "received_at"], name="webhook_store_status")]


class BackfillJob(StoreOwned):
    """Paging through a platform's API; `cursors` lets a crashed job resume where it stopped."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=16, default="shopify")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    resources = models.JSONField(default=list, help_text="in order, e.g. products, customers, orders, checkouts")
    current_resource = models.CharField(max_length=32, blank=True)
    cursors = models.JSONField(default=dict, help_text="resource -> last page's endCursor")
    counts = models.JSONField(default=dict, help_text="resource -> rows processed")
    totals = models.JSONField(default=dict, help_text="resource -> rows the platform reported at the start (progress)")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class ShopifyObjectVersion(StoreOwned):
    """The newest Shopify `updated_at` applied to one object (customer, order, checkout, product).

    Webhooks arrive late, twice and out of order, and the backfill overlaps them: whatever
    carries an older `updated_at` than this is skipped. Locking this row also makes the work
    on one object run one at a time across workers."""

    kind = models.CharField(max_length=16)
    external_id = models.CharField(max_length=128)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "kind", "external_id"], name="shopify_version_unique_object")
        ]


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


class PublicRateCounter(models.Model):
    """Requests per client IP in one fixed window, for the public snippet intake when no Redis
    is configured (events.ratelimit). Not store-owned on purpose: requests are counted before
    the public key is checked, so that guessing keys is throttled too."""

    key = models.CharField(max_length=100, help_text="what is counted, e.g. 'ip:203.0.113.7'")
    window = models.BigIntegerField(help_text="window number: unix time // window length")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="public_rate_unique_key_window")]
        indexes = [models.Index(fields=["window"], name="public_rate_window")]
