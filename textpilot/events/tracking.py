"""Track: record events for profiles named by identifiers, one at a time or up to 1,000 at once.

In the steady state (profiles already known) one event is one SQL statement and a batch is
two (a profile lookup and one multi-row insert), whatever its size; idempotency keys are
kept by ON CONFLICT DO NOTHING on the store's unique key (event_inserts.py); new people,
new identifiers and merges go through profiles.identify. tests/events/test_ingest_query_budget.py
holds those counts. A batch is validated whole first: one bad item refuses the batch (422
naming the item and field) and nothing is written. A duplicate item (its idempotency key is
stored already, or an earlier item of the batch has it) is counted in `duplicates` and its
identifiers are not resolved: it creates or changes no profile."""
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from textpilot.common import hooks, inputs
from textpilot.common.errors import FieldError, field_path
from textpilot.events import event_inserts
from textpilot.events.models import Event
from textpilot.events.service import clean_occurred_at, clean_properties, normalize_event_name, record_event
from textpilot.profiles import service as profiles
from textpilot.stores.models import Store

MAX_BATCH = 1000
# Events stamped further ahead than this are clock errors, not the future.
MAX_CLOCK_SKEW = timedelta(hours=24)


class BatchError(FieldError):
    """Several items of a batch are bad; `details` lists each with its index and field."""

    def __init__(self, details: list[dict]):
        super().__init__(f"{len(details)} item(s) of the batch are invalid; nothing was recorded", field="events")
        self.details = details

    def as_detail(self) -> list[dict]:
        return self.details


@dataclass
class TrackItem:
    name: str
    identifiers: dict
    properties: dict = field(default_factory=dict)
    occurred_at: datetime | None = None
    idempotency_key: str | None = None
    properties_json: str = "{}"  # serialised once, for the size check and the insert


@dataclass
class TrackResult:
    recorded: int = 0
    duplicates: int = 0
    profiles_created: int = 0
    # The rows written, as hooks.events_recorded announced them (duplicates are not among them).
    written: list[hooks.EventRecorded] = field(default_factory=list)


def _clean_item(store: Store, raw: dict, now: datetime) -> TrackItem:
    name = normalize_event_name(raw.get("name", ""))
    try:
        identifiers = profiles.clean_profile_fields(
            store, {k: v for k, v in (raw.get("profile") or {}).items() if v not in (None, "")}
        )
    except FieldError as exc:
        raise FieldError(exc.message, field=f"profile.{exc.field}") from None
    identifiers = {k: v for k, v in identifiers.items() if k in profiles.IDENTIFIERS and v}
    if not identifiers:
        raise FieldError("the event names no profile: give profile.phone, .email, .external_id or .anonymous_id", field="profile")
    properties, properties_json = clean_properties(raw.get("properties"))
    occurred_at = clean_occurred_at(raw.get("time"))
    if occurred_at is not None:
        if timezone.is_naive(occurred_at):
            raise FieldError("time needs a UTC offset, e.g. 2026-05-01T12:00:00Z", field="time")
        if occurred_at > now + MAX_CLOCK_SKEW:
            raise FieldError("time is more than 24 hours in the future", field="time")
    key = raw.get("idempotency_key") or None
    if key:
        inputs.checked(inputs.plain_text, key, "idempotency_key")
    return TrackItem(name, identifiers, properties, occurred_at, key, properties_json)


def clean_batch(store: Store, raw_items: list[dict]) -> list[TrackItem]:
    if not raw_items:
        raise FieldError("the batch is empty", field="events")
    if len(raw_items) > MAX_BATCH:
        raise FieldError(f"a batch holds at most {MAX_BATCH} events", field="events")
    now, items, errors = timezone.now(), [], []
    for index, raw in enumerate(raw_items):
        try:
            items.append(_clean_item(store, raw, now))
        except FieldError as exc:
            errors.append({"loc": ["body", "events", index, *field_path(exc.field)], "msg": exc.message, "type": exc.code})
    if errors:
        raise BatchError(errors)
    return items


def _known_profiles(store: Store, items: list[TrackItem]) -> dict[int, int]:
    """Item index -> profile id for the items whose identifiers all belong to one live
    profile (the steady state of a store), in one query whatever the identifier kinds."""
    wanted: dict[str, set] = {}
    for item in items:
        for name, value in item.identifiers.items():
            wanted.setdefault(name, set()).add(value)
    match = Q()
    for name, values in wanted.items():
        match |= Q(**{f"{name}__in": values})
    found: dict[tuple[str, str], int] = {}
    for row in profiles.live_profiles(store).filter(match).values_list("pk", *profiles.IDENTIFIERS):
        for name, value in zip(profiles.IDENTIFIERS, row[1:]):
            if value:
                found[(name, value)] = row[0]
    resolved = {}
    for index, item in enumerate(items):
        matches = {found.get(pair) for pair in item.identifiers.items()}
        if len(matches) == 1 and None not in matches:
            resolved[index] = matches.pop()
    return resolved


def _duplicates(store: Store, items: list[TrackItem], resolved: dict[int, int]) -> set[int]:
    """Indexes of the items that will not be recorded: an idempotency key seen earlier in the
    batch, or one the store already has. Their profile is never resolved, so a duplicate
    creates or changes no profile. Only items of people not known yet need the key lookup
    (a known profile's duplicate is skipped by the insert's ON CONFLICT), so the steady
    state keeps its two statements."""
    seen, skipped = set(), set()
    for index, item in enumerate(items):
        if item.idempotency_key:
            if item.idempotency_key in seen:
                skipped.add(index)
            seen.add(item.idempotency_key)
    unknown = {index: item.idempotency_key for index, item in enumerate(items)
               if index not in resolved and index not in skipped and item.idempotency_key}
    if unknown:
        stored = set(Event.objects.filter(store=store, idempotency_key__in=set(unknown.values()))
                     .values_list("idempotency_key", flat=True))
        skipped.update(index for index, key in unknown.items() if key in stored)
    return skipped


def _identify_rest(store: Store, items: list[TrackItem], resolved: dict[int, int], skipped: set[int], source: str) -> int:
    """New people, a new identifier for a known one, or two profiles to merge: the slow,
    exact path (profiles.identify), once per distinct set of identifiers. Returns profiles created."""
    created, done = 0, {}
    for index, item in enumerate(items):
        if index in resolved or index in skipped:
            continue
        wanted = tuple(sorted(item.identifiers.items()))
        if wanted not in done:
            profile, was_created = profiles.identify(store, source=source, **item.identifiers)
            created += was_created
            done[wanted] = profile.pk
        resolved[index] = done[wanted]
    if done:
        _follow_merges(store, resolved)
    return created


def _follow_merges(store: Store, resolved: dict[int, int]) -> None:
    """identify() may have merged a profile that an earlier item was resolved to: point
    those items at the profile it was merged into, so no event lands on a tombstone."""
    for _ in range(len(resolved)):  # each round follows one merge step; chains are short
        merged = dict(profiles.merged_targets(store, set(resolved.values())))
        if not merged:
            return
        for index, pk in resolved.items():
            resolved[index] = merged.get(pk, pk)


def track_events(store: Store, raw_items: list[dict], source: str = "api") -> TrackResult:
    """Record a batch: in the steady state (known profiles) two statements, a profile lookup
    and one multi-row insert that skips idempotency keys the store already has."""
    items = clean_batch(store, raw_items)
    result = TrackResult()
    resolved = _known_profiles(store, items)
    # Only a batch that creates or changes profiles needs a transaction: then a failure
    # leaves no profile behind. The insert alone is one statement, atomic by itself.
    atomic = transaction.atomic() if len(resolved) < len(items) else nullcontext()
    with atomic:
        # A key twice in this batch: the first one counts; a key already stored: a duplicate.
        skipped = _duplicates(store, items, resolved)
        result.profiles_created = _identify_rest(store, items, resolved, skipped, source)
        now, rows = timezone.now(), []
        for index, item in enumerate(items):
            if index in skipped:
                continue
            rows.append(event_inserts.EventRow(resolved[index], item.name, item.properties_json, item.occurred_at or now,
                                               item.idempotency_key))
        result.written = event_inserts.insert_many(store.pk, source, now, rows)
        hooks.events_recorded.fire(store.pk, result.written)  # one batch, after commit
    result.recorded = len(result.written)
    result.duplicates = len(items) - result.recorded
    return result


def track_event(store: Store, raw: dict, source: str = "api") -> tuple[Event, bool]:
    """One event; returns (event, created). A repeated idempotency key returns the first event.

    A known profile costs one statement (event_inserts.insert_for_known_profile); otherwise
    the key is looked up, and a new or changed profile goes through profiles.identify."""
    now = timezone.now()
    item = _clean_item(store, raw, now)
    occurred_at = item.occurred_at or now
    written = event_inserts.insert_for_known_profile(
        store.pk, item.identifiers, item.name, item.properties_json, occurred_at, item.idempotency_key, source, now)
    if written is not None:
        event_id, profile_id = written
        event = Event(pk=event_id, store=store, profile_id=profile_id, name=item.name, properties=item.properties,
                      occurred_at=occurred_at, idempotency_key=item.idempotency_key, source=source, recorded_at=now)
        hooks.events_recorded.fire(store.pk, [hooks.EventRecorded(event_id, profile_id, item.name, occurred_at)])
        return event, True
    if item.idempotency_key:
        existing = Event.objects.filter(store=store, idempotency_key=item.idempotency_key).first()
        if existing is not None:
            return existing, False
    with transaction.atomic():  # a refused event leaves no new profile behind
        profile, _ = profiles.identify(store, source=source, **item.identifiers)
        return record_event(store, profile, item.name, item.properties, occurred_at=item.occurred_at,
                            idempotency_key=item.idempotency_key, source=source)
