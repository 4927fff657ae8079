from datetime import timedelta

import pytest
from django.utils import timezone

from textpilot.common.errors import FieldError
from textpilot.profiles import service
from textpilot.profiles.models import ConsentEvent


@pytest.fixture
def profile(store):
    return service.create_profile(store, phone="+14155552671", first_name="Ann")


def test_consent_trail_is_append_only(store, profile):
    event = service.record_consent(store, profile, "subscribed", "popup", consent_text="Reply STOP to opt out", ip_address="203.0.113.9")
    event.status = "unsubscribed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        ConsentEvent.objects.filter(pk=event.pk).update(status="unsubscribed")
    with pytest.raises(PermissionError):
        ConsentEvent.objects.filter(pk=event.pk).delete()
    stored = ConsentEvent.objects.get(pk=event.pk)
    assert (stored.status, stored.consent_text, stored.ip_address, stored.phone) == (
        "subscribed", "Reply STOP to opt out", "203.0.113.9", "+14155552671",
    )


def test_profile_with_evidence_cannot_be_deleted(store, profile):
    from django.db.models import ProtectedError

    service.record_consent(store, profile, "subscribed", "keyword", keyword="JOIN")
    with pytest.raises(ProtectedError):
        profile.delete()


def test_current_status_follows_the_newest_event(store, profile):
    now = timezone.now()
    service.record_consent(store, profile, "subscribed", "popup", occurred_at=now - timedelta(days=3))
    service.record_consent(store, profile, "unsubscribed", "inbound_stop", keyword="STOP", occurred_at=now - timedelta(days=1))
    # A late-arriving older event is recorded as evidence but does not flip the status back.
    service.record_consent(store, profile, "subscribed", "import", occurred_at=now - timedelta(days=2))
    profile.refresh_from_db()
    assert profile.sms_status == "unsubscribed"
    assert [e.status for e in service.consent_trail(store, profile)] == ["subscribed", "subscribed", "unsubscribed"]


def test_sms_consent_needs_a_phone(store):
    emailonly = service.create_profile(store, email="a@example.com")
    with pytest.raises(FieldError):
        service.record_consent(store, emailonly, "subscribed", "popup")
    assert not ConsentEvent.objects.exists()


def test_consent_api_records_evidence(api, store, profile):
    response = api.post(
        f"/api/v1/profiles/{profile.pk}/consent",
        {"status": "subscribed", "source": "popup", "ip_address": "198.51.100.7", "user_agent": "Mozilla/5.0", "consent_text": "By submitting…"},
    )
    assert response.status_code == 201, response.content
    trail = api.get(f"/api/v1/profiles/{profile.pk}/consent").json()
    assert [(e["status"], e["source"], e["ip_address"]) for e in trail] == [("subscribed", "popup", "198.51.100.7")]
    assert api.get(f"/api/v1/profiles/{profile.pk}").json()["sms_status"] == "subscribed"


@pytest.mark.parametrize(
    "payload",
    [{"status": "maybe", "source": "popup"}, {"status": "subscribed"}, {"status": "subscribed", "source": "popup", "ip_address": "999.1.1.1"}],
)
def test_consent_api_rejects_bad_evidence(api, profile, payload):
    response = api.post(f"/api/v1/profiles/{profile.pk}/consent", payload)
    assert response.status_code == 422
    assert not ConsentEvent.objects.exists()
