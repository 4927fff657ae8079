"""The identifier history (ProfileIdentifier): what identifiers a person ever had.

Written wherever profiles gain an identifier (create, update, identify, the CSV bulk path);
read by erase (to scrub every identifier, not just the current ones) and export."""
from collections.abc import Iterable

from django.utils import timezone

from textpilot.profiles.models import ProfileIdentifier

KINDS = ("phone", "email", "external_id", "anonymous_id")


def remember(store, entries: Iterable[tuple[int, str, str]], now=None) -> int:
    """Record (profile id, kind, value) triples; a known triple only gets its last_seen_at moved."""
    now = now or timezone.now()
    rows = {
        (profile_id, kind, value): ProfileIdentifier(store_id=store.pk, profile_id=profile_id, kind=kind, value=value,
                                                     first_seen_at=now, last_seen_at=now)
        for profile_id, kind, value in entries if value and kind in KINDS
    }
    if rows:
        ProfileIdentifier.objects.bulk_create(
            list(rows.values()), batch_size=1000, update_conflicts=True,
            unique_fields=["store", "profile", "kind", "value"], update_fields=["last_seen_at"],
        )
    return len(rows)


def remember_profile(store, profile, names: Iterable[str] = KINDS, now=None) -> int:
    """Record the identifiers `profile` holds now (those among `names`)."""
    return remember(store, ((profile.pk, name, getattr(profile, name)) for name in names if name in KINDS), now)


def history_of(store, profile_ids) -> list[ProfileIdentifier]:
    return list(ProfileIdentifier.objects.filter(store=store, profile_id__in=list(profile_ids)).order_by("first_seen_at", "id"))


def values_of(store, profile_ids) -> set[str]:
    return set(ProfileIdentifier.objects.filter(store=store, profile_id__in=list(profile_ids)).values_list("value", flat=True))


def forget(store, profile_ids) -> int:
    """Erase: the history itself is personal data."""
    return ProfileIdentifier.objects.filter(store=store, profile_id__in=list(profile_ids)).delete()[0]
