from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from textpilot.commerce import service as commerce
from textpilot.commerce import stats as commerce_stats
from textpilot.commerce.models import CustomerStats
from textpilot.common.errors import FieldError
from textpilot.events import service as events
from textpilot.profiles import service
from textpilot.profiles.models import ConsentEvent, Profile


def test_identify_creates_then_finds(store):
    first, created = service.identify(store, phone="(415) 555-2671", first_name="Ann")
    again, created_again = service.identify(store, phone="+14155552671", email="ann@example.com", city="Oakland")
    assert created and not created_again and again.pk == first.pk
    assert (again.email, again.first_name, again.city) == ("ann@example.com", "Ann", "Oakland")


def test_identify_needs_an_identifier(store):
    with pytest.raises(FieldError) as error:
        service.identify(store, first_name="Nobody")
    assert error.value.field == "phone"
    assert not Profile.objects.exists()


def test_identify_merges_profiles_that_turn_out_to_be_one_person(store):
    by_phone = service.create_profile(store, phone="+14155552671", first_name="Ann", properties={"a": 1})
    by_phone.created_at = timezone.now() - timedelta(days=2)
    by_phone.save()
    by_email = service.create_profile(store, email="ann@example.com", city="Oakland", properties={"b": 2})
    commerce.record_order(store, external_id="o1", total="30", profile=by_phone, payment_status="paid")
    commerce.record_order(store, external_id="o2", total="20", profile=by_email, payment_status="paid")
    events.record_event(store, by_email, "viewed_product")
    service.record_consent(store, by_phone, "subscribed", "keyword", keyword="JOIN")

    merged, created = service.identify(store, phone="+14155552671", email="ann@example.com")

    assert not created and merged.pk == by_phone.pk
    assert (merged.email, merged.city, merged.properties) == ("ann@example.com", "Oakland", {"a": 1, "b": 2})
    survivor = commerce_stats.for_profile(store, merged.pk)
    assert (survivor.orders_count, survivor.total_spent) == (2, Decimal("50.00"))
    assert not CustomerStats.objects.filter(pk=by_email.pk).exists()  # the tombstone's row is gone
    assert events.events_of(store, merged).count() == 1
    tombstone = Profile.objects.get(pk=by_email.pk)
    assert tombstone.merged_into_id == merged.pk and tombstone.email is None
    # Old ids keep resolving, listings show one person, evidence is untouched.
    assert service.get_profile(store, by_email.pk).pk == merged.pk
    assert service.search_profiles(store).count() == 1
    assert [e.keyword for e in service.consent_trail(store, merged)] == ["JOIN"]


def test_anonymous_visitor_is_folded_into_the_known_profile(store):
    visitor, _ = service.identify(store, anonymous_id="vid-123")
    events.record_event(store, visitor, "viewed_product", {"product_id": "9"})
    known = service.create_profile(store, email="ann@example.com")
    profile, created = service.identify(store, anonymous_id="vid-123", email="ann@example.com")
    assert not created and profile.pk == known.pk and profile.anonymous_id == "vid-123"
    assert [e.name for e in events.events_of(store, profile)] == ["viewed_product"]


def test_merge_takes_the_newest_consent(store):
    old = service.create_profile(store, phone="+14155552671")
    new = service.create_profile(store, email="ann@example.com")
    service.record_consent(store, old, "subscribed", "popup", occurred_at=timezone.now() - timedelta(days=5))
    Profile.objects.filter(pk=new.pk).update(sms_status="unsubscribed", sms_status_at=timezone.now())
    new.refresh_from_db()
    merged = service.merge_profiles(store, old, new)
    assert merged.sms_status == "unsubscribed"
    assert ConsentEvent.objects.count() == 1


def test_identify_with_a_bad_field_changes_nothing(store):
    profile = service.create_profile(store, phone="+14155552671", first_name="Ann")
    with pytest.raises(FieldError):
        service.identify(store, phone="+14155552671", first_name="Bea", timezone="Nowhere/Land")
    profile.refresh_from_db()
    assert profile.first_name == "Ann"


def test_identify_never_crosses_stores(store, other_store):
    theirs = service.create_profile(other_store, phone="+14155552671")
    mine, created = service.identify(store, phone="+14155552671")
    assert created and mine.pk != theirs.pk and mine.store == store
