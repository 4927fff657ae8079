"""Profile rules: the only place that creates or changes profiles and consent."""
import ipaddress
import json
import re
import zoneinfo
from collections import namedtuple
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from textpilot.common import hooks, inputs
from textpilot.common import privacy as privacy_registry
from textpilot.common.errors import Conflict, FieldError, NotFound
from textpilot.profiles import consent as consent_rules
from textpilot.profiles import identifiers as identifier_history
from textpilot.profiles.models import ConsentBasis, ConsentEvent, ConsentStatus, Gender, Profile
from textpilot.common.phones import normalize_phone, phone_region
from textpilot.stores.models import Store

IDENTIFIERS = ("phone", "email", "external_id", "anonymous_id")
TEXT_LIMITS = {
    "first_name": 100, "last_name": 100, "city": 100, "source": 64, "external_id": 128, "anonymous_id": 64,
    "email": 254, "language": 16, "timezone": 64,
}
EDITABLE_FIELDS = (
    *IDENTIFIERS, "first_name", "last_name", "gender", "language", "country", "region", "city",
    "latitude", "longitude", "timezone", "properties", "source",
)
REGION_RE = re.compile(r"^[A-Z0-9]{1,3}$")
MAX_PROPERTIES_BYTES = 16 * 1024
MISSING_IDENTIFIER = "a profile needs a phone, an email, an external_id or an anonymous_id"
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def clean_profile_fields(store: Store, fields: dict) -> dict:
    """Validate and normalise profile fields; raise FieldError naming the first bad one."""
    clean: dict = {}
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise FieldError(f"unknown profile field {name!r}", field=name)
        if isinstance(value, str):
            value = inputs.checked(inputs.plain_text, value.strip(), name)
        if name in TEXT_LIMITS and value is not None and len(str(value)) > TEXT_LIMITS[name]:
            raise FieldError(f"{name} is longer than {TEXT_LIMITS[name]} characters", field=name)
        if name == "phone":
            value = normalize_phone(value, default_region=fields.get("country") or store.country) if value else None
        elif name == "email":
            if value:
                value = value.lower()
                try:
                    validate_email(value)
                except ValidationError:
                    raise FieldError(f"{value!r} is not a valid email address", field="email") from None
            else:
                value = None
        elif name in ("external_id", "anonymous_id"):
            value = str(value) if value not in (None, "") else None
        elif name == "gender":
            value = (value or "").lower()
            if value not in Gender.values:
                raise FieldError(f"gender must be one of {', '.join(v for v in Gender.values if v)} or empty", field="gender")
        elif name == "language":
            if value and not LANGUAGE_RE.match(value):
                raise FieldError(f"{value!r} is not a language code like 'en' or 'pt-BR'", field="language")
        elif name == "country":
            value = inputs.checked(inputs.country_code, value, "country") if value else ""
        elif name == "region":
            # A state or province code, as in ISO 3166-2 after the country ("TX", "QC", "NSW").
            value = (value or "").upper()
            if len(value) > 3 and value[2] == "-":  # the full ISO 3166-2 code, "US-TX"
                value = value[3:]
            if value and not REGION_RE.match(value):
                raise FieldError(f"{value!r} is not a state or province code like 'TX'", field="region")
        elif name in ("latitude", "longitude"):
            limit = 90 if name == "latitude" else 180
            if value is not None:
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise FieldError(f"{name} must be a number", field=name) from None
                if not -limit <= value <= limit:
                    raise FieldError(f"{name} must be between -{limit} and {limit}", field=name)
        elif name == "timezone":
            if value and value not in zoneinfo.available_timezones():
                raise FieldError(f"unknown time zone {value!r}", field="timezone")
        elif name == "properties":
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise FieldError("properties must be a JSON object", field="properties")
            inputs.checked(inputs.finite_json, value, "properties")
            if len(json.dumps(value, default=str)) > MAX_PROPERTIES_BYTES:
                raise FieldError(f"properties are larger than {MAX_PROPERTIES_BYTES} bytes", field="properties")
        clean[name] = value if value is not None or name in (*IDENTIFIERS, "latitude", "longitude") else ""
    return clean


def _check_identifiers_free(store: Store, clean: dict, exclude_pk: int | None = None) -> None:
    for name in IDENTIFIERS:
        value = clean.get(name)
        if value:
            clash = Profile.objects.filter(store=store, **{name: value})
            if exclude_pk:
                clash = clash.exclude(pk=exclude_pk)
            if clash.exists():
                raise Conflict(f"another profile in this store already has this {name.replace('_', ' ')}", field=name)


def create_profile(store: Store, **fields) -> Profile:
    clean = clean_profile_fields(store, fields)
    if not any(clean.get(name) for name in IDENTIFIERS):
        raise FieldError(MISSING_IDENTIFIER, field="phone")
    if clean.get("phone") and not clean.get("country"):
        clean["country"] = phone_region(clean["phone"])
    _check_identifiers_free(store, clean)
    try:
        with transaction.atomic():
            profile = Profile.objects.create(store=store, **clean)
            identifier_history.remember_profile(store, profile)
            return profile
    except IntegrityError:
        # A concurrent insert won the race for the same identifier.
        _check_identifiers_free(store, clean)
        raise


def update_profile(store: Store, profile_id: int, **fields) -> Profile:
    profile = get_profile(store, profile_id)
    clean = clean_profile_fields(store, fields)
    remaining = {name: clean.get(name, getattr(profile, name)) for name in IDENTIFIERS}
    if not any(remaining.values()):
        raise FieldError(MISSING_IDENTIFIER, field=next(iter(fields), "phone"))
    _check_identifiers_free(store, clean, exclude_pk=profile.pk)
    for name, value in clean.items():
        setattr(profile, name, value)
    try:
        with transaction.atomic():  # the row and its identifier history, or neither
            profile.save(update_fields=[*clean, "updated_at"])
            identifier_history.remember_profile(store, profile, names=[name for name in clean if name in IDENTIFIERS])
    except IntegrityError:
        # A concurrent write took one of these identifiers first: say which, as create_profile does.
        _check_identifiers_free(store, clean, exclude_pk=profile.pk)
        raise
    return profile


def live_profiles(store: Store) -> QuerySet[Profile]:
    """Profiles of the store that were not merged into another one."""
    return Profile.objects.filter(store=store, merged_into__isnull=True)


def live_profile_holding_sql(identifier_names: tuple[str, ...]) -> str:
    """`SELECT id` of the live profile holding every one of the named identifiers, for another
    statement to embed (events/event_inserts.py resolves and inserts in one round trip).
    Parameters: the store id, then the identifier values in the order of `identifier_names`.
    At most one row: identifiers are unique per store."""
    if not identifier_names or any(name not in IDENTIFIERS for name in identifier_names):
        raise ValueError(f"identifiers must be some of {IDENTIFIERS}, got {identifier_names}")
    quote = connection.ops.quote_name
    matches = " AND ".join(f"{quote(name)} = %s" for name in identifier_names)
    return (f"SELECT {quote('id')} FROM {quote(Profile._meta.db_table)} "
            f"WHERE {quote('store_id')} = %s AND {quote('merged_into_id')} IS NULL AND {matches}")


# What the delivery gate reads of a recipient: consent, and where they may be (law and clock).
RECIPIENT_FIELDS = ("sms_status", "timezone", "region", "country")


RecipientFields = namedtuple("RecipientFields", RECIPIENT_FIELDS)


def sms_states(profile_ids) -> dict[int, RecipientFields]:
    """{profile id: RecipientFields} as committed now: the dispatcher's last look before a
    provider call (ids from its own leased messages). Tuples, not models: it runs per call."""
    rows = Profile.objects.filter(pk__in=list(profile_ids)).values_list("pk", *RECIPIENT_FIELDS)
    return {pk: RecipientFields(*values) for pk, *values in rows}


def get_profile(store: Store, profile_id: int) -> Profile:
    """The profile, or the one it was merged into (old ids keep working)."""
    profile = Profile.objects.filter(store=store, pk=profile_id).first()
    for _ in range(10):  # merge chains are short; the bound guards against a cycle
        if profile is None or profile.merged_into_id is None:
            break
        profile = Profile.objects.filter(store=store, pk=profile.merged_into_id).first()
    if profile is None:
        raise NotFound(f"no profile {profile_id} in this store", field="profile_id")
    return profile


def known_profiles(store: Store) -> QuerySet[Profile]:
    """Live profiles that are people we can name: not storefront visitors known only by a cookie."""
    return live_profiles(store).filter(Q(phone__isnull=False) | Q(email__isnull=False) | Q(external_id__isnull=False))


def search_profiles(store: Store, query: str = "", include_visitors: bool = False) -> QuerySet[Profile]:
    """Profiles of `store`, newest first, optionally matching a phone, email or name fragment.
    Anonymous storefront visitors are left out unless asked for."""
    profiles = live_profiles(store) if include_visitors else known_profiles(store)
    query = (query or "").strip()
    if query:
        digits = re.sub(r"\D", "", query)
        match = Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
        if len(digits) >= 3:
            match |= Q(phone__contains=digits)
        profiles = profiles.filter(match)
    return profiles.order_by("-created_at", "-id")


def count_profiles(store: Store) -> dict:
    profiles = known_profiles(store)
    return {
        "profiles": profiles.count(),
        "sms_subscribers": profiles.filter(sms_status=ConsentStatus.SUBSCRIBED).count(),
        "visitors": live_profiles(store).filter(phone__isnull=True, email__isnull=True, external_id__isnull=True).count(),
    }


class ConsentRefused(Conflict):
    """An opt-in that the consent precedence rule (profiles/consent.py) does not let through."""


@transaction.atomic
def record_consent(
    store: Store,
    profile: Profile,
    status: str,
    source: str,
    *,
    channel: str = ConsentEvent.Channel.SMS,
    keyword: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    consent_text: str = "",
    occurred_at: datetime | None = None,
    basis: str = ConsentBasis.REPORTED,
) -> ConsentEvent:
    """Append a consent event and move the profile's SMS status as the precedence rule says
    (profiles/consent.py). An opt-in that may not lift a standing opt-out raises
    ConsentRefused (409) and records nothing. `basis` is the caller's to set, never a client's."""
    if profile.store_id != store.pk:
        raise NotFound("no such profile in this store", field="profile_id")
    if status not in (ConsentStatus.SUBSCRIBED, ConsentStatus.UNSUBSCRIBED, ConsentStatus.PENDING):
        raise FieldError("status must be subscribed, unsubscribed or pending", field="status")
    if channel not in ConsentEvent.Channel.values:
        raise FieldError(f"channel must be one of {', '.join(ConsentEvent.Channel.values)}", field="channel")
    if basis not in ConsentBasis.values:
        raise FieldError(f"basis must be one of {', '.join(ConsentBasis.values)}", field="basis")
    if not (source or "").strip():
        raise FieldError("consent source is required (popup, keyword, checkout, import, …)", field="source")
    if channel == ConsentEvent.Channel.SMS and not profile.phone:
        raise FieldError("SMS consent needs a profile with a phone number", field="phone")
    if ip_address:
        try:
            ip_address = str(ipaddress.ip_address(ip_address))
        except ValueError:
            raise FieldError(f"{ip_address!r} is not an IP address", field="ip_address") from None
    now = timezone.now()
    # What textpilot saw itself happened now; a client's claim is checked and never later than now.
    occurred_at = now if basis == ConsentBasis.OBSERVED else consent_rules.clean_claimed_time(occurred_at, now)
    verdict = None
    if channel == ConsentEvent.Channel.SMS:
        # The row lock orders concurrent changes of one person (a STOP racing an API opt-in).
        current = Profile.objects.select_for_update().only("sms_status", "sms_status_at", "sms_opted_out_at").get(pk=profile.pk)
        verdict = consent_rules.step(consent_rules.state_of(current), consent_rules.Change(status, basis, occurred_at, now))
        if verdict.refused:
            raise ConsentRefused(f"{describe_standing_opt_out(store, current)}; {verdict.refused}", field="status")
    event = ConsentEvent.objects.create(
        store=store, profile=profile, channel=channel, status=status, phone=profile.phone or "",
        source=source.strip()[:64], keyword=(keyword or "").strip()[:64], ip_address=ip_address or None,
        user_agent=user_agent or "", consent_text=consent_text or "", occurred_at=occurred_at, basis=basis,
        recorded_at=now,
    )
    if verdict is not None:
        state = verdict.state
        if (state.status, state.status_at, state.opted_out_at) != (current.sms_status, current.sms_status_at, current.sms_opted_out_at):
            Profile.objects.filter(pk=profile.pk).update(
                sms_status=state.status, sms_status_at=state.status_at, sms_opted_out_at=state.opted_out_at)
            if state.status != current.sms_status:
                hooks.consent_changed.fire(store.pk, [hooks.ConsentChanged(profile.pk, channel, state.status, event.source, occurred_at)])
        profile.sms_status, profile.sms_status_at, profile.sms_opted_out_at = state.status, state.status_at, state.opted_out_at
    return event


def describe_standing_opt_out(store: Store, profile: Profile) -> str:
    """'opted out on 2026-11-30 by STOP' for a profile whose observed opt-out stands."""
    return standing_opt_outs(store, [profile.pk]).get(profile.pk, f"opted out on {profile.sms_opted_out_at:%Y-%m-%d}")


def standing_opt_outs(store: Store, profile_ids: list[int]) -> dict[int, str]:
    """For each profile with a standing observed opt-out: 'opted out on <date> by <how>'."""
    found: dict[int, str] = {}
    events = (ConsentEvent.objects.filter(store=store, profile_id__in=profile_ids, channel=ConsentEvent.Channel.SMS,
                                          status=ConsentStatus.UNSUBSCRIBED, basis=ConsentBasis.OBSERVED)
              .order_by("profile_id", "-recorded_at", "-id").only("profile_id", "keyword", "source", "recorded_at"))
    for event in events:
        if event.profile_id not in found:
            how = event.keyword or event.source.replace("_", " ")
            found[event.profile_id] = f"opted out on {event.recorded_at:%Y-%m-%d} by {how}"
    return found


def consent_trail(store: Store, profile: Profile) -> QuerySet[ConsentEvent]:
    """Evidence of the profile and of every profile merged into it."""
    ids = merged_ids(store, profile)
    return ConsentEvent.objects.filter(store=store, profile_id__in=ids).order_by("occurred_at", "id")


def merged_ids(store: Store, profile: Profile) -> list[int]:
    """The profile's id and the ids of every profile merged into it (tombstones), oldest chain first."""
    ids, frontier = [profile.pk], [profile.pk]
    while frontier:
        frontier = list(Profile.objects.filter(store=store, merged_into_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


# --- identify: find-or-create by identifiers, merging duplicates --------------------------

def identify(store: Store, *, source: str = "api", **fields) -> tuple[Profile, bool]:
    """Upsert a profile by any of its identifiers (phone, email, external_id, anonymous_id).

    Returns (profile, created). Identifiers that already belong to different profiles mean
    those profiles are one person: they are merged into the oldest one (see merge_profiles).
    Other fields given overwrite stored ones; `properties` are merged key by key."""
    clean = clean_profile_fields(store, fields)
    identifiers = {name: clean[name] for name in IDENTIFIERS if clean.get(name)}
    if not identifiers:
        raise FieldError(MISSING_IDENTIFIER, field="phone")
    for attempt in range(2):
        matches = list(profiles_matching(store, identifiers).order_by("created_at", "id"))
        if not matches:
            try:
                with transaction.atomic():
                    return create_profile(store, source=source, **clean), True
            except (IntegrityError, Conflict):
                if attempt:  # lost the race twice: something else is wrong
                    raise
                continue  # a concurrent identify created it first: merge into that one
        with transaction.atomic():
            primary = _pick_primary(matches)
            for other in matches:
                if other.pk != primary.pk:
                    merge_profiles(store, primary, other)
            primary.refresh_from_db()
            updates = {name: value for name, value in clean.items() if name not in IDENTIFIERS and value not in ("", None)}
            if "properties" in updates:
                updates["properties"] = {**primary.properties, **updates["properties"]}
            for name, value in identifiers.items():
                if getattr(primary, name) != value:
                    updates[name] = value
            if updates:
                for name, value in updates.items():
                    setattr(primary, name, value)
                primary.save(update_fields=[*updates, "updated_at"])
                identifier_history.remember_profile(store, primary, names=[name for name in updates if name in IDENTIFIERS])
            return primary, False
    raise AssertionError("unreachable")


def merged_targets(store: Store, profile_ids) -> list[tuple[int, int]]:
    """(tombstone id, id it was merged into) for those of `profile_ids` that were merged."""
    return list(Profile.objects.filter(store=store, pk__in=profile_ids, merged_into__isnull=False)
                .values_list("pk", "merged_into_id"))


def profiles_matching(store: Store, identifiers: dict) -> QuerySet[Profile]:
    """Live profiles holding any of the given (clean) identifiers."""
    match = Q()
    for name, value in identifiers.items():
        match |= Q(**{name: value})
    return live_profiles(store).filter(match)


def _pick_primary(matches: list[Profile]) -> Profile:
    """The oldest profile that is more than an anonymous visitor; else the oldest."""
    known = [p for p in matches if p.phone or p.email or p.external_id]
    return (known or matches)[0]


@transaction.atomic
def merge_profiles(store: Store, primary: Profile, other: Profile) -> Profile:
    """Fold `other` into `primary`: its events, orders and checkouts move over, its
    identifiers and missing fields are taken when primary has none, and it is kept as a
    tombstone (merged_into) so its consent evidence stays exactly as it was recorded."""
    if primary.store_id != store.pk or other.store_id != store.pk or primary.pk == other.pk:
        raise FieldError("profiles to merge must be two different profiles of this store", field="profile_id")
    # Events, orders, texts… of `other` move to `primary` (each app registered how: common.privacy).
    privacy_registry.repoint_everywhere(store, other.pk, primary.pk)
    taken = {name: getattr(other, name) for name in IDENTIFIERS if getattr(other, name) and not getattr(primary, name)}
    fill = {
        name: getattr(other, name)
        for name in ("first_name", "last_name", "gender", "language", "country", "city", "latitude", "longitude", "timezone")
        if getattr(other, name) not in ("", None) and getattr(primary, name) in ("", None)
    }
    # Free the tombstone's identifiers first: they are unique per store.
    Profile.objects.filter(pk=other.pk).update(
        phone=None, email=None, external_id=None, anonymous_id=None, merged_into=primary, updated_at=timezone.now()
    )
    changes = {**taken, **fill, "properties": {**other.properties, **primary.properties}}
    # One person, one trail: the status is what the precedence rule makes of both (an
    # opt-out on either side stands unless an opt-in with intent came after it).
    trail = consent_trail(store, primary).filter(channel=ConsentEvent.Channel.SMS).order_by("recorded_at", "id")
    state = consent_rules.merged_state([consent_rules.change_of(e) for e in trail],
                                       [consent_rules.state_of(primary), consent_rules.state_of(other)])
    changes.update(sms_status=state.status, sms_status_at=state.status_at, sms_opted_out_at=state.opted_out_at)
    Profile.objects.filter(pk=primary.pk).update(**changes, updated_at=timezone.now())
    identifier_history.remember(store, ((primary.pk, name, value) for name, value in taken.items()))
    primary.refresh_from_db()
    return primary
