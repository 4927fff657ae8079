"""Privacy requests about one person: export everything, or erase it.

Profiles holds the person and their consent trail; every other app that keeps personal data
registered how to export and erase it (common.privacy, from its AppConfig.ready()), and this
module runs them all, so profiles never imports the apps above it."""
import hashlib
import hmac

from django.conf import settings
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from textpilot.common import privacy as registry
from textpilot.common.errors import NotFound
from textpilot.profiles import identifiers
from textpilot.profiles.models import ConsentBasis, ConsentEvent, ConsentStatus, Profile
from textpilot.profiles.service import consent_trail, merged_ids, record_consent
from textpilot.stores.models import Store


def export_profile(store: Store, profile: Profile) -> dict:
    """Everything stored about a person (their profile and every profile merged into it)."""
    profile.ensure_in(store, field="profile_id")
    ids = merged_ids(store, profile)
    person = model_to_dict(profile, exclude=["store", "merged_into"])
    person.update(id=profile.pk, created_at=profile.created_at, updated_at=profile.updated_at, sms_status_at=profile.sms_status_at)
    return {
        "exported_at": timezone.now(),
        "store": {"name": store.name, "slug": store.slug},
        "profile": person,
        "merged_profile_ids": ids[1:],
        "identifiers": [
            {"kind": i.kind, "value": i.value, "first_seen_at": i.first_seen_at, "last_seen_at": i.last_seen_at}
            for i in identifiers.history_of(store, ids)
        ],
        "consent": [
            {
                "channel": e.channel, "status": e.status, "phone": e.phone, "source": e.source, "keyword": e.keyword,
                "ip_address": e.ip_address, "user_agent": e.user_agent, "consent_text": e.consent_text, "occurred_at": e.occurred_at,
            }
            for e in consent_trail(store, profile)
        ],
        **registry.export_sections(store, ids),
    }


def erased_number_digest(store: Store, phone: str) -> str:
    """Keyed hash of an erased number: proves consent for a number presented later, reveals
    nothing. Its key is its own (settings.ERASURE_KEY, versioned), not the Django secret, so
    rotating the secret does not orphan the evidence; the version is part of the digest."""
    version, key = settings.ERASURE_KEY_VERSION, settings.ERASURE_KEY.encode()
    return f"hmac:{version}:" + hmac.new(key, f"{store.pk}:{phone}".encode(), hashlib.sha256).hexdigest()[:40]


@transaction.atomic
def erase_profile(store: Store, profile: Profile) -> Profile:
    """Erase a person's personal data (GDPR/CCPA request, Shopify customers/redact).

    Identifiers (current and every one in their history), names, location and properties go;
    orders, events and rollups stay as anonymous aggregates with personal fields scrubbed;
    consent evidence stays (the law asks for it) with the phone replaced by a keyed hash.
    Each app's registered handler scrubs what it keeps (stored webhooks, import files…)."""
    if profile.store_id != store.pk:
        raise NotFound("no such profile in this store", field="profile_id")
    ids = merged_ids(store, profile)
    people = list(Profile.objects.filter(pk__in=ids))
    needles = {value for p in people for value in (p.phone, p.email, p.external_id) if value}
    needles |= identifiers.values_of(store, ids)
    needles |= {event.phone for event in ConsentEvent.objects.filter(store=store, profile_id__in=ids) if event.phone}
    needles.discard("")
    phones = {n for n in needles if n.startswith("+")}

    # Erasing a person also ends their consent, and the trail says so (under the number's keyed hash).
    for person in people:
        if person.phone and person.sms_status != ConsentStatus.UNSUBSCRIBED:
            record_consent(store, person, ConsentStatus.UNSUBSCRIBED, "privacy_erase", basis=ConsentBasis.OBSERVED)
    registry.erase_everywhere(registry.Erasure(store, tuple(ids), frozenset(needles), frozenset(phones)))
    for phone in phones:
        # The one sanctioned change to evidence rows: the number becomes its keyed hash.
        models.QuerySet(ConsentEvent).filter(store=store, profile_id__in=ids, phone=phone).update(
            phone=erased_number_digest(store, phone)
        )
    identifiers.forget(store, ids)
    now = timezone.now()
    Profile.objects.filter(pk__in=ids).update(
        phone=None, email=None, external_id=None, anonymous_id=None, first_name="", last_name="", gender="",
        city="", region="", latitude=None, longitude=None, timezone="", properties={}, erased_at=now, updated_at=now,
    )
    profile.refresh_from_db()
    return profile
