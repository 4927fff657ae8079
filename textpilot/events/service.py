"""Event rules: recording what profiles did, exactly once per idempotency key."""
import json
import re
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from textpilot.common import hooks, inputs
from textpilot.common.privacy import Erasure
from textpilot.common.errors import FieldError, NotFound
from textpilot.events.models import Event
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store

EVENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_EVENT_PROPERTIES_BYTES = 32 * 1024


def normalize_event_name(name: str) -> str:
    """'Viewed Product' and 'viewed_product' are the same event."""
    normalized = re.sub(r"[^a-z0-9]+", "_", (name or "").strip().lower()).strip("_")
    if not EVENT_NAME_RE.match(normalized):
        raise FieldError(f"{name!r} is not a usable event name", field="name")
    return normalized


def clean_properties(properties) -> tuple[dict, str]:
    """Event properties and their JSON text (serialised once, for the size check and an
    insert): a JSON object that both databases store (common.inputs.finite_json), at most
    MAX_EVENT_PROPERTIES_BYTES long."""
    properties = properties or {}
    if not isinstance(properties, dict):
        raise FieldError("properties must be a JSON object", field="properties")
    inputs.checked(inputs.finite_json, properties, "properties")
    text = json.dumps(properties, default=str)
    if len(text) > MAX_EVENT_PROPERTIES_BYTES:
        raise FieldError(f"properties are larger than {MAX_EVENT_PROPERTIES_BYTES} bytes", field="properties")
    return properties, text


def clean_occurred_at(value: datetime | None, field: str = "time") -> datetime | None:
    return inputs.checked(inputs.bounded_datetime, value, field) if value is not None else None


def record_event(
    store: Store,
    profile: Profile,
    name: str,
    properties: dict | None = None,
    *,
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
    source: str = "",
) -> tuple[Event, bool]:
    """Returns (event, created). A repeated idempotency key returns the stored event unchanged."""
    if profile.store_id != store.pk:
        raise NotFound("no such profile in this store", field="profile_id")
    name = normalize_event_name(name)
    properties, _ = clean_properties(properties)
    occurred_at = clean_occurred_at(occurred_at, "occurred_at")
    if idempotency_key:
        inputs.checked(inputs.plain_text, idempotency_key, "idempotency_key")
        existing = Event.objects.filter(store=store, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    try:
        with transaction.atomic():
            event = Event.objects.create(
                store=store, profile=profile, name=name, properties=properties,
                occurred_at=occurred_at or timezone.now(), idempotency_key=idempotency_key or None, source=source,
            )
    except IntegrityError:
        # Same key inserted concurrently: the first writer wins.
        return Event.objects.get(store=store, idempotency_key=idempotency_key), False
    hooks.events_recorded.fire(store.pk, [hooks.EventRecorded(event.pk, profile.pk, event.name, event.occurred_at)])
    return event, True


def events_of(store: Store, profile: Profile | None = None) -> QuerySet[Event]:
    events = Event.objects.filter(store=store)
    if profile is not None:
        events = events.filter(profile=profile)
    return events.order_by("-occurred_at", "-id")


def reassign_profile(store: Store, source_id: int, target_id: int) -> int:
    """Move every event of one profile to another (profile merge)."""
    return Event.objects.filter(store=store, profile_id=source_id).update(profile_id=target_id)


# Event properties that describe the purchase, not the person: kept when a profile is erased.
NON_PERSONAL_EVENT_KEYS = frozenset({
    "product_id", "product_name", "product_title", "variant_id", "sku", "price", "value", "currency", "quantity",
    "order_id", "order_number", "items", "campaign_id", "flow_id", "message_id", "category", "collection",
})


def export_for_profiles(store: Store, profile_ids: list[int]) -> list[dict]:
    return [
        {"name": e.name, "properties": e.properties, "occurred_at": e.occurred_at, "source": e.source}
        for e in Event.objects.filter(store=store, profile_id__in=profile_ids).order_by("occurred_at", "id")
    ]


def redact_for_profiles(erasure: Erasure) -> int:
    """Erase request: keep only non-personal event properties, and none that mention the person."""
    changed = 0
    for event in Event.objects.filter(store=erasure.store, profile_id__in=erasure.profile_ids).iterator(chunk_size=1000):
        kept = {
            key: value for key, value in event.properties.items()
            if key in NON_PERSONAL_EVENT_KEYS and not erasure.mentions(json.dumps(value, default=str))
        }
        if kept != event.properties:
            Event.objects.filter(pk=event.pk).update(properties=kept)
            changed += 1
    return changed
