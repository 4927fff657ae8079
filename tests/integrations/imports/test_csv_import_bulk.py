"""profiles.bulk pieces the import relies on: the country of a number without reparsing,
and the raw multi-row insert writing what the ORM would."""
from datetime import datetime, timezone

import phonenumbers
import pytest
from django.db import transaction
from phonenumbers import PhoneNumberType

from textpilot.profiles import bulk
from textpilot.profiles.models import ConsentEvent, Profile
from textpilot.common.phones import phone_region


@pytest.mark.parametrize("kind", [PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE])
def test_region_of_agrees_with_phone_region_for_every_country(kind):
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        assert bulk.region_of(e164) == phone_region(e164), e164
        checked += 1
    assert checked > 200


def test_upsert_writes_profiles_and_evidence_like_the_orm(store):
    at = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    rows = [
        bulk.ProfileRow(ref=2, fields={"phone": "+447400123456", "first_name": "Zoë", "properties": {"note": "ünïcode"}},
                        tags=["vip"], consent=bulk.ConsentChange("subscribed", at, "row 2")),
        bulk.ProfileRow(ref=3, fields={"email": "x@example.com"}, consent=bulk.ConsentChange("subscribed", at, "row 3")),
    ]
    with transaction.atomic():
        outcome = bulk.upsert_profiles(store, rows, source="import", consent_source="import")
    assert (outcome.created, outcome.updated, outcome.consent_events) == (1, 0, 1)
    assert outcome.rejected == [(3, "phone", "SMS consent needs a profile with a phone number")]
    zoe = Profile.objects.get(store=store)
    assert (zoe.phone, zoe.country, zoe.first_name, zoe.source) == ("+447400123456", "GB", "Zoë", "import")
    assert zoe.properties == {"note": "ünïcode", "tags": ["vip"]}
    assert (zoe.sms_status, zoe.sms_status_at) == ("subscribed", at)
    assert zoe.created_at == zoe.updated_at and zoe.merged_into_id is None
    event = ConsentEvent.objects.get(store=store)
    assert (event.profile_id, event.phone, event.status, event.occurred_at, event.consent_text, event.source) == (
        zoe.pk, "+447400123456", "subscribed", at, "row 2", "import")
    assert event.recorded_at is not None and event.ip_address is None


@pytest.mark.django_db(transaction=True)
def test_upsert_refuses_to_run_outside_a_transaction(store):
    row = bulk.ProfileRow(ref=2, fields={"phone": "+14155552671"})
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        bulk.upsert_profiles(store, [row], source="import", consent_source="import")
    assert not Profile.objects.exists()
