"""Who the country allowlist leaves out: subscribed customers whose number is in a country
the store does not text, so no text can ever reach them (the gate suppresses each one with
rule `country`). The compliance page shows them per country, so a merchant whose
subscribers live abroad sees it before wondering why campaigns reach so few.

The country of a number is the gate's own (common.phones.phone_region). Asking it of every
subscribed number would read every phone; instead the database groups the numbers by their
first PREFIX characters and their length, and one number of a group answers for all of it
when the digits that decide its country (common.phone_regions.shape_of) fit in that prefix,
which holds for nearly every calling code (+1: the area code). A group where they don't fit
is read number by number."""
from __future__ import annotations

import dataclasses
from collections import Counter

import pycountry
from django.db.models import Count, Min
from django.db.models.functions import Length, Substr

from textpilot.common.phone_regions import shape_of
from textpilot.common.phones import phone_region
from textpilot.profiles.models import ConsentStatus
from textpilot.profiles.service import live_profiles
from textpilot.stores.models import Store

PREFIX = 8  # "+1415555": the calling code and enough digits for almost every country's rule


@dataclasses.dataclass(frozen=True)
class LeftOut:
    country: str  # ISO code, "" when the number's country is unknown
    name: str
    count: int


def subscribed_by_country(store: Store) -> Counter:
    """{phone country ("" unknown): subscribed customers with a number there}."""
    subscribed = live_profiles(store).filter(sms_status=ConsentStatus.SUBSCRIBED, phone__isnull=False, erased_at__isnull=True)
    groups = (subscribed.order_by().annotate(head=Substr("phone", 1, PREFIX), size=Length("phone"))
              .values("head", "size").annotate(n=Count("id"), sample=Min("phone")))
    counts: Counter = Counter()
    for group in groups:
        shape = shape_of(group["sample"])
        if shape is not None and len(shape[0]) <= PREFIX:
            counts[phone_region(group["sample"])] += group["n"]
            continue
        phones = subscribed.filter(phone__startswith=group["head"]).values_list("phone", flat=True)
        counts.update(phone_region(phone) for phone in phones.iterator() if len(phone) == group["size"])
    return counts


def left_out(store: Store, allowed_countries: list[str] | None) -> list[LeftOut]:
    """Countries of subscribed numbers outside the allowlist (empty: only the store's
    country, as the gate reads it), most customers first."""
    allowed = set(allowed_countries or ()) or {store.country}
    found = [(country, n) for country, n in subscribed_by_country(store).items() if country not in allowed]
    found.sort(key=lambda item: (-item[1], item[0]))
    return [LeftOut(country, _country_name(country), n) for country, n in found]


def _country_name(code: str) -> str:
    if not code:
        return "unknown country"
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or getattr(country, "name", code) if country else code
