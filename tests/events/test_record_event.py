import pytest

from textpilot.common.errors import FieldError, NotFound
from textpilot.events import service
from textpilot.events.models import Event
from textpilot.profiles import service as profiles


@pytest.fixture
def ann(store):
    return profiles.create_profile(store, phone="+14155552671")


def test_names_are_normalised(store, ann):
    event, created = service.record_event(store, ann, "Viewed Product", {"product_id": "42"})
    assert created and event.name == "viewed_product"


def test_idempotency_key_records_once(store, ann):
    first, created_first = service.record_event(store, ann, "placed_order", {"total": 10}, idempotency_key="order-1")
    again, created_again = service.record_event(store, ann, "placed_order", {"total": 999}, idempotency_key="order-1")
    assert created_first and not created_again and again.pk == first.pk
    assert Event.objects.get().properties == {"total": 10}


def test_same_key_in_two_stores_is_two_events(store, other_store, ann):
    bob = profiles.create_profile(other_store, phone="+4915123456789")
    service.record_event(store, ann, "clicked_link", idempotency_key="k")
    service.record_event(other_store, bob, "clicked_link", idempotency_key="k")
    assert Event.objects.count() == 2


@pytest.mark.parametrize("name", ["", "   ", "!!!", "x" * 80])
def test_bad_names_are_refused(store, ann, name):
    with pytest.raises(FieldError):
        service.record_event(store, ann, name)
    assert not Event.objects.exists()


def test_profile_of_another_store_is_refused(store, other_store):
    bob = profiles.create_profile(other_store, phone="+4915123456789")
    with pytest.raises(NotFound):
        service.record_event(store, bob, "viewed_product")
