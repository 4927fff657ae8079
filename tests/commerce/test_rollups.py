from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from textpilot.commerce import service
from textpilot.common.errors import FieldError
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile


@pytest.fixture
def ann(store):
    return profiles.create_profile(store, phone="+14155552671", first_name="Ann")


def rollup_of(profile):
    p = Profile.objects.get(pk=profile.pk)
    return p.orders_count, p.total_spent, p.average_order_value, p.first_order_at, p.last_order_at


def test_rollups_follow_orders(store, ann):
    t0 = timezone.now() - timedelta(days=10)
    service.record_order(store, external_id="1001", total="40.00", profile=ann, payment_status="paid", placed_at=t0)
    service.record_order(store, external_id="1002", total="80.50", profile=ann, payment_status="paid", placed_at=t0 + timedelta(days=5))
    assert rollup_of(ann) == (2, Decimal("120.50"), Decimal("60.25"), t0, t0 + timedelta(days=5))

    # Cancelling and voiding take orders out of the rollups; refund too.
    service.record_order(store, external_id="1002", total="80.50", profile=ann, payment_status="paid",
                         placed_at=t0 + timedelta(days=5), cancelled_at=timezone.now())
    assert rollup_of(ann)[:3] == (1, Decimal("40.00"), Decimal("40.00"))
    service.record_order(store, external_id="1001", total="40.00", profile=ann, payment_status="refunded", placed_at=t0)
    assert rollup_of(ann) == (0, Decimal("0"), Decimal("0"), None, None)


def test_moving_an_order_to_another_profile_fixes_both(store, ann):
    bob = profiles.create_profile(store, phone="+14155552672", first_name="Bob")
    service.record_order(store, external_id="A", total="10", profile=ann, payment_status="paid")
    service.record_order(store, external_id="A", total="10", profile=bob, payment_status="paid")
    assert rollup_of(ann)[0] == 0 and rollup_of(bob)[:2] == (1, Decimal("10.00"))


def test_older_update_never_overwrites_newer_state(store, ann):
    newer, older = timezone.now(), timezone.now() - timedelta(hours=1)
    service.record_order(store, external_id="X", total="25", profile=ann, payment_status="paid", source_updated_at=newer)
    order, created = service.record_order(store, external_id="X", total="25", profile=ann, payment_status="pending", source_updated_at=older)
    assert not created and order.payment_status == "paid"


def test_bulk_recompute_matches_incremental(store, ann):
    bob = profiles.create_profile(store, phone="+14155552672")
    carl = profiles.create_profile(store, phone="+14155552673")
    for i, (who, total, status) in enumerate([(ann, "10.10", "paid"), (ann, "20.20", "pending"), (bob, "5", "voided"), (bob, "7.77", "paid")]):
        service.record_order(store, external_id=f"o{i}", total=total, profile=who, payment_status=status,
                             placed_at=timezone.now() - timedelta(days=i))
    expected = {p.pk: rollup_of(p) for p in (ann, bob, carl)}
    Profile.objects.filter(store=store).update(orders_count=99, total_spent=Decimal("1"), first_order_at=None, last_order_at=None)
    service.recompute_all_rollups(store)
    assert {p.pk: rollup_of(p) for p in (ann, bob, carl)} == expected
    assert expected[ann.pk][:3] == (2, Decimal("30.30"), Decimal("15.15"))
    assert expected[carl.pk][:2] == (0, Decimal("0"))


def test_recompute_leaves_other_stores_alone(store, other_store, ann):
    theirs = profiles.create_profile(other_store, phone="+4915123456789")
    service.record_order(other_store, external_id="B1", total="99", profile=theirs, payment_status="paid")
    service.recompute_all_rollups(store)
    assert rollup_of(theirs)[:2] == (1, Decimal("99.00"))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"total": "-1"}, "total"),
        ({"total": "abc"}, "total"),
        ({"total": "NaN"}, "total"),
        ({"payment_status": "maybe"}, "payment_status"),
        ({"external_id": ""}, "external_id"),
        ({"lines": [{"title": "Tent", "quantity": 0, "price": "10"}]}, "lines[0].quantity"),
        ({"lines": [{"title": "", "price": "10"}]}, "lines[0].title"),
    ],
)
def test_bad_orders_are_refused_whole(store, ann, kwargs, field):
    from textpilot.commerce.models import Order, OrderLine

    args = {"external_id": "Z", "total": "10", "profile": ann, **kwargs}
    with pytest.raises(FieldError) as error:
        service.record_order(store, **args)
    assert error.value.field == field
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert rollup_of(ann)[0] == 0


def test_order_of_another_stores_profile_is_refused(store, other_store):
    from textpilot.common.errors import NotFound

    theirs = profiles.create_profile(other_store, phone="+4915123456789")
    with pytest.raises(NotFound):
        service.record_order(store, external_id="E", total="1", profile=theirs)
