"""Bulk profile writes (CSV import): many upserts and consent changes in a few statements.

The rules are those of `service.identify` and `service.record_consent`, applied to a batch
in input order: a row matching one live profile by any identifier updates it (non-empty
fields overwrite, properties merge key by key, tags are added), a row matching none creates
one, and a consent change is a *reported* one (profiles/consent.py): it moves the SMS status
only if it is the newest, and an opt-in is skipped (and reported) for a number whose STOP or
other observed opt-out stands. Rows
whose identifiers belong to two different profiles are refused (merging is for
`service.identify`, one person at a time). Fields must already be clean
(`service.clean_profile_fields`). The caller holds the transaction: a batch is written whole
or not at all."""
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import phonenumbers
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from textpilot.common import hooks
from textpilot.common.bulk_write import column_defaults, copy_rows, prepared_rows, reserve_ids
from textpilot.profiles import consent as consent_rules
from textpilot.profiles.models import ConsentBasis, ConsentEvent, Profile
from textpilot.common.phones import phone_region
from textpilot.profiles.service import IDENTIFIERS, standing_opt_outs
from textpilot.stores.models import Store

# Identifier values per lookup query: under SQLite's variable limit, and small enough that
# PostgreSQL probes the (store, identifier) unique index instead of reading the whole store
# (at 2,000 values it switched plans: 43 ms instead of ~1 ms at 200k profiles).
LOOKUP_BATCH = 500
WRITE_BATCH = 500


@dataclass(frozen=True)
class ConsentChange:
    status: str
    occurred_at: datetime
    consent_text: str = ""


@dataclass
class ProfileRow:
    """One input row: `ref` is the caller's row number, echoed back in rejections."""

    ref: int
    fields: dict
    tags: list[str] = field(default_factory=list)
    consent: ConsentChange | None = None


@dataclass
class BulkOutcome:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (ref, field, reason)
    consent_events: int = 0
    consent_skipped: list[tuple[int, str]] = field(default_factory=list)  # (ref, reason): row imported, consent not


def upsert_profiles(store: Store, rows: list[ProfileRow], *, source: str, consent_source: str) -> BulkOutcome:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("upsert_profiles must run inside transaction.atomic(): a batch is all or nothing")
    index = _IdentityIndex.load(store, rows)
    outcome = BulkOutcome()
    now = timezone.now()
    new_defaults = {**column_defaults(Profile, now), "store_id": store.pk, "source": source, "created_at": now}
    created: list[_Pending] = []
    updated: dict[int, Profile] = {}
    changed_fields: set[str] = set()
    released: dict[int, set[str]] = {}  # profile pk -> identifier columns whose value moves
    consents: list[tuple[Profile | _Pending, ConsentChange, str]] = []
    loaded_states: dict[int, consent_rules.State] = {}  # consent of existing profiles as read, to detect a concurrent STOP
    consent_changed: dict[int, Profile] = {}
    announced: list[tuple[Profile | _Pending, str, datetime]] = []  # status changes, for the consent_changed hook
    skipped: list[tuple[int, Profile, str]] = []

    for row in rows:
        identifiers = {name: row.fields[name] for name in IDENTIFIERS if row.fields.get(name)}
        matches = index.matches(identifiers)
        if len(matches) > 1:
            outcome.rejected.append((row.ref, *_clash(matches, identifiers)))
            continue
        if row.consent is not None and not (row.fields.get("phone") or (matches and matches[0].phone)):
            outcome.rejected.append((row.ref, "phone", "SMS consent needs a profile with a phone number"))
            continue
        if matches:
            profile = matches[0]
            before = {name: getattr(profile, name) for name in IDENTIFIERS}
            changed = _apply_update(profile, row)
            if profile.pk is not None:
                updated[profile.pk] = profile
                changed_fields |= changed
                moved = {name for name in IDENTIFIERS if before[name] and before[name] != getattr(profile, name)}
                if moved:
                    released.setdefault(profile.pk, set()).update(moved)
            index.replace(profile, before)
            outcome.updated += 1
        else:
            profile = _new_profile(new_defaults, row)
            created.append(profile)
            index.add(profile)
            outcome.created += 1
        if row.consent is not None:
            before = consent_rules.state_of(profile)
            change = consent_rules.Change(row.consent.status, ConsentBasis.REPORTED, min(row.consent.occurred_at, now), now)
            verdict = consent_rules.step(before, change)
            if verdict.refused:
                skipped.append((row.ref, profile, verdict.refused))
                continue
            if profile.pk is not None:
                loaded_states.setdefault(profile.pk, before)
                consent_changed[profile.pk] = profile
            if verdict.state.status != before.status:
                announced.append((profile, verdict.state.status, change.occurred_at))
            profile.sms_status, profile.sms_status_at, profile.sms_opted_out_at = verdict.state.status, \
                verdict.state.status_at, verdict.state.opted_out_at
            consents.append((profile, row.consent, profile.phone or ""))

    _write(store, created, updated, changed_fields - set(CONSENT_FIELDS), released, now)
    _write_consent_states(store, loaded_states, consent_changed)
    if skipped:
        standing = standing_opt_outs(store, [profile.pk for _, profile, _ in skipped if profile.pk is not None])
        outcome.consent_skipped = [
            (ref, f"consent not changed: {standing.get(profile.pk, 'opted out')}; {reason}") for ref, profile, reason in skipped
        ]
    if consents:
        event_defaults = {**column_defaults(ConsentEvent, now), "store_id": store.pk, "channel": ConsentEvent.Channel.SMS,
                          "source": consent_source}
        _copy(ConsentEvent, [
            {**event_defaults, "profile_id": profile.pk, "status": change.status, "phone": phone,
             "consent_text": change.consent_text, "occurred_at": min(change.occurred_at, now), "recorded_at": now}
            for profile, change, phone in consents
        ])
    outcome.consent_events = len(consents)
    # After the writes: new profiles have their ids now. Fired on commit, as record_consent's.
    hooks.consent_changed.fire(store.pk, [
        hooks.ConsentChanged(profile.pk, ConsentEvent.Channel.SMS, status, consent_source, occurred_at)
        for profile, status, occurred_at in announced
    ])
    return outcome


class _Pending:
    """A profile still to be inserted: reads and writes like a Profile, costs a dict."""

    pk = None

    def __init__(self, values: dict):
        self.__dict__.update(values)


def _write(store, created, updated, changed_fields, released, now) -> None:
    # An identifier can move within a batch (A's email changes, then a later row takes A's
    # old email): free moved values first so no statement sees the same value twice.
    for pk, names in released.items():
        Profile.objects.filter(store=store, pk=pk).update(**{name: None for name in names})
    if updated:
        for profile in updated.values():
            profile.updated_at = now
        Profile.objects.bulk_update(list(updated.values()), sorted(changed_fields | {"updated_at"}), batch_size=WRITE_BATCH)
    # Ids reserved up front: the consent events of new profiles name them without a lookup.
    for profile, pk in zip(created, reserve_ids(Profile, len(created))):
        profile.pk = pk
    _copy(Profile, [{**vars(profile), "id": profile.pk} for profile in created], with_id=True)


def _copy(model, rows: list[dict], *, with_id: bool = False) -> None:
    """COPY (PostgreSQL) / executemany (SQLite) of complete rows (see column_defaults):
    bulk_create would prepare every field of every object and, on SQLite, cap a statement at
    999 parameters (32 profiles); an import writes up to a million rows."""
    if rows:
        columns = [f.attname for f in model._meta.concrete_fields if with_id or not f.primary_key]
        copy_rows(model, columns, prepared_rows(model, columns, rows))


CONSENT_FIELDS = ("sms_status", "sms_status_at", "sms_opted_out_at")


def _write_consent_states(store: Store, loaded: dict[int, consent_rules.State], changed: dict[int, Profile]) -> None:
    """Write the new SMS status of existing profiles, unless one changed since it was read
    (a STOP committed meanwhile): then the whole batch fails with IntegrityError and its
    caller redoes it against the new state, rather than write over an opt-out. The rows are
    locked first (PostgreSQL); on SQLite this transaction already holds the write lock."""
    if not changed:
        return
    pks = sorted(changed)
    for start in range(0, len(pks), LOOKUP_BATCH):
        batch = pks[start : start + LOOKUP_BATCH]
        for pk, *state in Profile.objects.select_for_update().filter(store=store, pk__in=batch).values_list("pk", *CONSENT_FIELDS):
            if consent_rules.State(*state) != loaded[pk]:
                raise IntegrityError(f"profile {pk}: SMS consent changed while this batch was being written")
    Profile.objects.bulk_update(list(changed.values()), list(CONSENT_FIELDS), batch_size=WRITE_BATCH)


def profiles_with(store: Store, name: str, values: list[str]):
    """Profiles of the store whose identifier `name` is one of `values` (tombstones too).

    On PostgreSQL the values travel as one array parameter (= ANY): the ORM's IN (...)
    quotes every value in Python, measured at 4-5x the cost. No merged_into filter in SQL:
    tombstones hold no identifiers anyway, and with it PostgreSQL, before the first ANALYZE
    of a freshly loaded table, reads the whole store instead of the (store, identifier)
    unique index."""
    if name not in IDENTIFIERS:
        raise ValueError(f"{name!r} is not a profile identifier")
    if not values:
        return
    connection = connections[router.db_for_read(Profile)]
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column = quote(Profile._meta.get_field(name).column)
        sql = f"SELECT * FROM {quote(Profile._meta.db_table)} WHERE store_id = %s AND {column} = ANY(%s)"
        for start in range(0, len(values), LOOKUP_BATCH):
            yield from Profile.objects.raw(sql, [store.pk, values[start : start + LOOKUP_BATCH]])
        return
    for start in range(0, len(values), LOOKUP_BATCH):
        yield from Profile.objects.filter(store=store, **{f"{name}__in": values[start : start + LOOKUP_BATCH]})


def _new_profile(defaults: dict, row: ProfileRow) -> _Pending:
    values = {**defaults, **row.fields}
    if row.tags:
        values["properties"] = {**values.get("properties", {}), "tags": list(row.tags)}
    if values.get("phone") and not values.get("country"):
        values["country"] = region_of(values["phone"])
    return _Pending(values)


def refresh_statistics() -> None:
    """ANALYZE the profiles table on PostgreSQL. Identifier lookups are planned from table
    statistics; after a big load they are missing or stale (autovacuum analyses later, or
    never when it is off) and the planner then reads the whole store for every lookup
    (measured: 37 ms instead of 0.7 ms per 500 phones at 200k profiles). ANALYZE samples a
    fixed number of rows: a few hundred ms."""
    connection = connections[router.db_for_write(Profile)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Profile._meta.db_table)}")


def _apply_update(profile: Profile, row: ProfileRow) -> set[str]:
    """identify() semantics on an in-memory profile; returns the columns that changed."""
    changed = set()
    for name, value in row.fields.items():
        if name == "properties":
            value = {**profile.properties, **value}
        if value not in ("", None) and getattr(profile, name) != value:
            setattr(profile, name, value)
            changed.add(name)
    if row.tags:
        current = profile.properties.get("tags")
        current = list(current) if isinstance(current, list) else ([current] if current else [])
        merged = current + [tag for tag in row.tags if tag not in current]
        if merged != profile.properties.get("tags"):
            profile.properties = {**profile.properties, "tags": merged}
            changed.add("properties")
    return changed


def _clash(matches: list[Profile], identifiers: dict) -> tuple[str, str]:
    owners = []
    for name, value in identifiers.items():
        for profile in matches:
            if getattr(profile, name) == value:
                owners.append((name, profile))
    described = " but ".join(f"its {name.replace('_', ' ')} belongs to profile #{p.pk}" for name, p in owners[:2])
    return owners[-1][0], f"{described}: merge those profiles first or fix the row"


@lru_cache(maxsize=1024)
def _regions_of_code(prefix: str) -> tuple[str, ...]:
    return phonenumbers.region_codes_for_country_code(int(prefix))


def region_of(e164: str) -> str:
    """Country of a valid E.164 number. Most calling codes belong to one country, which needs
    no parsing; shared ones (+1, +7, +44, …) are told apart by the full number."""
    for length in (1, 2, 3):  # calling codes are prefix-free: the first known prefix is it
        regions = _regions_of_code(e164[1 : 1 + length])
        if regions:
            return regions[0] if len(regions) == 1 and regions[0] != "001" else phone_region(e164)
    return phone_region(e164)


class _IdentityIndex:
    """Live profiles of the store reachable by the batch's identifiers, kept current as rows
    are applied so a later row sees what an earlier row changed (as sequential identify would)."""

    def __init__(self):
        self.by = {name: {} for name in IDENTIFIERS}

    @classmethod
    def load(cls, store: Store, rows: list[ProfileRow]) -> "_IdentityIndex":
        index = cls()
        wanted = {name: sorted({row.fields[name] for row in rows if row.fields.get(name)}) for name in IDENTIFIERS}
        for name, values in wanted.items():
            for profile in profiles_with(store, name, values):
                if profile.merged_into_id is None:
                    index.add(index.known(profile))
        return index

    def known(self, profile: Profile) -> Profile:
        """The instance already indexed for this row (one object per profile)."""
        for name in IDENTIFIERS:
            value = getattr(profile, name)
            if value and value in self.by[name]:
                return self.by[name][value]
        return profile

    def add(self, profile: Profile) -> None:
        for name in IDENTIFIERS:
            value = getattr(profile, name)
            if value:
                self.by[name][value] = profile

    def replace(self, profile: Profile, before: dict) -> None:
        for name, value in before.items():
            if value and self.by[name].get(value) is profile and getattr(profile, name) != value:
                del self.by[name][value]
        self.add(profile)

    def matches(self, identifiers: dict) -> list[Profile]:
        found: list[Profile] = []
        for name, value in identifiers.items():
            profile = self.by[name].get(value)
            if profile is not None and all(profile is not seen for seen in found):
                found.append(profile)
        return found
