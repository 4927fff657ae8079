"""The consent proof: one self-contained HTML document (inline CSS, no external assets, prints
cleanly to PDF) that shows what a store can prove about one number's SMS consent — the
current status and the whole evidence trail, every time in UTC and in the store's zone.

Served by the API (`GET /api/v1/profiles/{id}/consent-proof`) and by the profile page's
"Consent proof" button; both call `consent_proof_response`. Everything shown is escaped by
the template engine (consent texts and user agents come from outside)."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from textpilot.profiles import service
from textpilot.profiles.models import ConsentEvent, ConsentStatus, Profile
from textpilot.stores.models import Store

TEMPLATE = "profiles/consent_proof.html"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _zone(store: Store) -> ZoneInfo:
    try:
        return ZoneInfo(store.timezone or "UTC")
    except (ValueError, KeyError):  # a zone the server's tzdata no longer has
        return ZoneInfo("UTC")


def _times(moment: datetime | None, zone: ZoneInfo) -> dict | None:
    """The moment in UTC and in the store's zone, formatted for print (or None)."""
    if moment is None:
        return None
    local = moment.astimezone(zone)
    return {"iso": moment.astimezone(UTC).isoformat(), "utc": f"{moment.astimezone(UTC).strftime(TIME_FORMAT)} UTC",
            "local": f"{local.strftime(TIME_FORMAT)} {local.tzname()}"}


def consent_proof_context(store: Store, profile: Profile, now: datetime | None = None) -> dict:
    profile.ensure_in(store, field="profile_id")
    zone = _zone(store)
    events = list(service.consent_trail(store, profile))
    sms_events = [event for event in events if event.channel == ConsentEvent.Channel.SMS]
    # Once erased, the profile has no number; the evidence keeps the keyed hash of it.
    number = profile.phone or next((event.phone for event in reversed(sms_events) if event.phone), "")
    return {
        "store": store,
        "zone_name": str(zone),
        "profile": profile,
        "name": "" if profile.erased_at else f"{profile.first_name} {profile.last_name}".strip(),
        "number": number,
        "number_is_hash": profile.phone is None and number.startswith("hmac:"),
        "status": ConsentStatus(profile.sms_status).label if profile.sms_status in ConsentStatus.values else profile.sms_status,
        "status_value": profile.sms_status,
        "status_since": _times(profile.sms_status_at, zone),
        "opted_out_at": _times(getattr(profile, "sms_opted_out_at", None), zone),
        "erased_at": _times(profile.erased_at, zone),
        "events": [
            {"event": event, "occurred": _times(event.occurred_at, zone), "recorded": _times(event.recorded_at, zone)}
            for event in events
        ],
        "merged": sorted({event.profile_id for event in events} - {profile.pk}),
        "generated": _times(now or timezone.now(), zone),
    }


def render_consent_proof(store: Store, profile: Profile, now: datetime | None = None) -> str:
    return render_to_string(TEMPLATE, consent_proof_context(store, profile, now))


def consent_proof_response(store: Store, profile: Profile) -> HttpResponse:
    response = HttpResponse(render_consent_proof(store, profile), content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="consent-proof-{profile.pk}.html"'
    response["Cache-Control"] = "no-store"  # personal data
    response["X-Content-Type-Options"] = "nosniff"
    # The document needs nothing from anywhere: no scripts, no fetches, only its own inline CSS.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response
