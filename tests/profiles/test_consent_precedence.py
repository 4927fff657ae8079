"""Consent precedence (profiles/consent.py): an opt-out textpilot observed stands until an
opt-in with proof of intent made after it; a client's clock never outranks it."""
import itertools
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings, strategies as st

from textpilot.delivery import inbound
from textpilot.profiles import consent, service
from textpilot.profiles.models import ConsentBasis, ConsentEvent, ConsentStatus, Profile

PHONE = "+12125550123"
EVIDENCE = {"consent_text": "Get texts from Acme. Reply STOP to opt out.", "ip_address": "198.51.100.7", "user_agent": "Mozilla/5.0"}


@pytest.fixture
def profile(store):
    return service.create_profile(store, phone=PHONE, first_name="Ann")


def stop(store, body="STOP", phone=PHONE):
    inbound.receive_inbound(store, from_phone=phone, to_phone="+14155550100", body=body, provider="sim")


def status(profile) -> str:
    profile.refresh_from_db()
    return profile.sms_status


# --- defect 1: a future occurred_at outranked every later STOP ----------------------------------

@pytest.mark.parametrize("ahead", [timedelta(hours=23), timedelta(days=3650)])
def test_future_occurred_at_is_refused_naming_the_field(api, profile, ahead):
    when = (timezone.now() + ahead).isoformat()
    response = api.post(f"/api/v1/profiles/{profile.pk}/consent", {"status": "subscribed", "source": "popup", "occurred_at": when, **EVIDENCE})
    assert response.status_code == 422, response.content
    assert "occurred_at" in str(response.json()["detail"]) and "future" in str(response.json()["detail"])
    assert not ConsentEvent.objects.exists() and status(profile) == ConsentStatus.NEVER


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00", "2026-01-01T10:00:00+15:00",
                                  "2026-01-01T10:00:00-14:30", "1969-07-20T20:17:00Z"])
def test_absurd_occurred_at_is_refused(api, profile, when):
    response = api.post(f"/api/v1/profiles/{profile.pk}/consent", {"status": "subscribed", "source": "popup", "occurred_at": when})
    assert response.status_code == 422, response.content
    assert "occurred_at" in str(response.json()["detail"])
    assert not ConsentEvent.objects.exists()


def test_small_clock_skew_is_accepted_and_clamped_to_server_time(api, profile):
    before = timezone.now()
    when = (before + timedelta(minutes=3)).isoformat()
    response = api.post(f"/api/v1/profiles/{profile.pk}/consent", {"status": "subscribed", "source": "popup", "occurred_at": when})
    assert response.status_code == 201, response.content
    event = ConsentEvent.objects.get()
    assert before <= event.occurred_at <= event.recorded_at <= timezone.now()


def test_stop_after_an_opt_in_with_a_skewed_clock_unsubscribes(store, sim_sender, api, profile):
    # Reproduces the reported case: the client's clock said "tomorrow"; it used to outrank every STOP.
    api.post(f"/api/v1/profiles/{profile.pk}/consent",
             {"status": "subscribed", "source": "popup", "occurred_at": (timezone.now() + timedelta(minutes=4)).isoformat()})
    assert status(profile) == ConsentStatus.SUBSCRIBED
    stop(store)
    assert status(profile) == ConsentStatus.UNSUBSCRIBED
    assert profile.sms_opted_out_at is not None


def test_stored_future_status_time_no_longer_outranks_a_stop(store, sim_sender, profile):
    """Data written by the old rule (a status time years ahead) yields to the next STOP."""
    service.record_consent(store, profile, "subscribed", "popup")
    Profile.objects.filter(pk=profile.pk).update(sms_status_at=timezone.now() + timedelta(days=3650))
    stop(store)
    assert status(profile) == ConsentStatus.UNSUBSCRIBED


# --- what may lift a standing opt-out -------------------------------------------------------

def test_api_opt_in_without_evidence_cannot_lift_a_stop(store, sim_sender, api, profile):
    service.record_consent(store, profile, "subscribed", "popup", **EVIDENCE)
    stop(store)
    events = ConsentEvent.objects.count()
    response = api.post(f"/api/v1/profiles/{profile.pk}/consent", {"status": "subscribed", "source": "crm"})
    assert response.status_code == 409, response.content
    message = str(response.json()["detail"])
    assert "opted out on" in message and "by STOP" in message
    assert ConsentEvent.objects.count() == events and status(profile) == ConsentStatus.UNSUBSCRIBED


def test_a_form_submission_with_evidence_after_the_stop_lifts_it(store, sim_sender, api, profile):
    stop(store)
    response = api.post(f"/api/v1/profiles/{profile.pk}/consent", {"status": "subscribed", "source": "popup", **EVIDENCE})
    assert response.status_code == 201, response.content
    assert response.json()["basis"] == "evidenced"
    assert status(profile) == ConsentStatus.SUBSCRIBED and profile.sms_opted_out_at is None


def test_a_form_submission_claimed_before_the_stop_cannot_lift_it(store, sim_sender, api, profile):
    stop(store)
    earlier = (timezone.now() - timedelta(hours=1)).isoformat()
    response = api.post(f"/api/v1/profiles/{profile.pk}/consent",
                        {"status": "subscribed", "source": "popup", "occurred_at": earlier, **EVIDENCE})
    assert response.status_code == 409
    assert "before" in str(response.json()["detail"]) and status(profile) == ConsentStatus.UNSUBSCRIBED


def test_start_texted_to_the_store_lifts_the_stop(store, sim_sender, profile):
    stop(store)
    stop(store, "Start")
    assert status(profile) == ConsentStatus.SUBSCRIBED


def test_pending_sign_up_keeps_the_opt_out_standing_until_confirmed(store, sim_sender, profile):
    stop(store)
    service.record_consent(store, profile, "pending", "popup", basis=ConsentBasis.EVIDENCED, **EVIDENCE)
    assert status(profile) == ConsentStatus.PENDING and profile.sms_opted_out_at is not None
    with pytest.raises(service.ConsentRefused):
        service.record_consent(store, profile, "subscribed", "import")  # reported: may not confirm it
    service.record_consent(store, profile, "subscribed", "double_opt_in", basis=ConsentBasis.OBSERVED, keyword="Y")
    assert status(profile) == ConsentStatus.SUBSCRIBED and profile.sms_opted_out_at is None


def test_a_reported_opt_out_is_honoured_but_does_not_stand(store, profile):
    service.record_consent(store, profile, "subscribed", "shopify", occurred_at=timezone.now() - timedelta(days=2))
    service.record_consent(store, profile, "unsubscribed", "shopify", occurred_at=timezone.now() - timedelta(days=1))
    assert status(profile) == ConsentStatus.UNSUBSCRIBED and profile.sms_opted_out_at is None
    service.record_consent(store, profile, "subscribed", "shopify")  # the platform says they opted in again
    assert status(profile) == ConsentStatus.SUBSCRIBED


def test_merge_keeps_an_opt_out_of_either_profile(store, sim_sender):
    texted = service.create_profile(store, phone=PHONE)
    stop(store)
    web = service.create_profile(store, email="ann@example.com")
    merged = service.merge_profiles(store, web, texted)
    assert (merged.phone, merged.sms_status) == (PHONE, ConsentStatus.UNSUBSCRIBED)
    assert merged.sms_opted_out_at is not None
    with pytest.raises(service.ConsentRefused):
        service.record_consent(store, merged, "subscribed", "import")


# --- the rule as a property: any interleaving, any claimed times --------------------------------

SOURCES = {  # what each kind of event is, as the code that records it says
    "stop": ("unsubscribed", ConsentBasis.OBSERVED), "start": ("subscribed", ConsentBasis.OBSERVED),
    "form_in": ("subscribed", ConsentBasis.EVIDENCED), "form_pending": ("pending", ConsentBasis.EVIDENCED),
    "import_in": ("subscribed", ConsentBasis.REPORTED), "import_out": ("unsubscribed", ConsentBasis.REPORTED),
}
event_strategy = st.tuples(st.sampled_from(sorted(SOURCES)), st.integers(min_value=-240, max_value=4))  # claimed minutes from now
counter = itertools.count()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(events=st.lists(event_strategy, min_size=1, max_size=8))
def test_any_interleaving_gives_the_precedence_rule(store, events):
    profile = service.create_profile(store, phone=f"+1212555{next(counter) % 10000:04d}")
    accepted = []  # (kind, claimed, recorded) of the events the service took
    for kind, minutes in events:
        new_status, basis = SOURCES[kind]
        claimed = timezone.now() + timedelta(minutes=minutes)
        try:
            event = service.record_consent(store, profile, new_status, kind, basis=basis, occurred_at=claimed)
        except service.ConsentRefused:
            continue
        accepted.append((kind, event))
    profile.refresh_from_db()
    trail = list(ConsentEvent.objects.filter(profile=profile).order_by("recorded_at", "id"))
    assert [e.pk for _, e in accepted] == [e.pk for e in trail]  # refused opt-ins left no trace

    # 1. The stored status is the rule applied to the whole trail, whatever order it came in.
    stored = consent.State(profile.sms_status, profile.sms_status_at, profile.sms_opted_out_at)
    assert stored == consent.fold(consent.change_of(e) for e in trail)

    # 2. An opt-out is never lost: after the last STOP, only a START or a later form sign-up confirmed.
    stops = [i for i, (kind, _) in enumerate(accepted) if kind == "stop"]
    if stops:
        last_stop = accepted[stops[-1]][1]
        lifted = [e for kind, e in accepted[stops[-1] + 1:] if kind in ("start", "form_in") and e.occurred_at > last_stop.recorded_at]
        if not lifted:
            assert profile.sms_status in (ConsentStatus.UNSUBSCRIBED, ConsentStatus.PENDING)
            assert profile.sms_opted_out_at == last_stop.recorded_at
    # 3. And what should get through does: a START recorded last always subscribes.
    if accepted and accepted[-1][0] == "start":
        assert profile.sms_status == ConsentStatus.SUBSCRIBED


def test_fold_is_order_independent_for_late_arrivals():
    """Pure check of the rule: an old reported opt-in that arrives after a STOP changes nothing."""
    base = datetime(2026, 11, 30, 12, 0, tzinfo=dt_timezone.utc)
    stop_event = consent.Change("unsubscribed", ConsentBasis.OBSERVED, base, base)
    late = consent.Change("subscribed", ConsentBasis.REPORTED, base - timedelta(days=30), base + timedelta(minutes=1))
    state = consent.step(consent.step(consent.State(), stop_event).state, late)
    assert state.refused and state.state.status == "unsubscribed"
    assert consent.fold([stop_event, late]).status == "unsubscribed"
