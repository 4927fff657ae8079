"""Behaviour events: what a profile did (viewed a product, started checkout, clicked a link…)."""
from django.db import models
from django.utils import timezone

from textpilot.profiles.models import Profile
from textpilot.stores.models import StoreOwnedIndexedByComposite


class Event(StoreOwnedIndexedByComposite):
    # Indexed by event_profile_time, which leads with it.
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="events", db_index=False)
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
