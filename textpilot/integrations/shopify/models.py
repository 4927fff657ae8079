"""What the Shopify connector keeps: the link to a shop, webhooks as received, backfill
jobs and the newest version applied per Shopify object. The tables keep the names they had
when this code lived in the events app (see migrations/0001_initial.py)."""
from django.db import models
from django.utils import timezone

from textpilot.stores.models import StoreOwned, StoreOwnedIndexedByComposite


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


class WebhookDelivery(StoreOwnedIndexedByComposite):
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


class ShopifyObjectVersion(StoreOwnedIndexedByComposite):
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
