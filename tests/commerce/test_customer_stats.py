"""commerce.stats: each customer's order rollups in commerce's CustomerStats table, one
currency rule (only orders in the store's currency are summed; the others are counted and
reported), kept true by every order write, merge and bulk recompute."""
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from textpilot.commerce import service, stats
from textpilot.commerce.models import CustomerStats, Order, OrderLine
from textpilot.common.errors import FieldError, NotFound
from textpilot.profiles import service as profiles


@pytest.fixture
def ann(store):
    return profiles.create_profile(store, phone="+14155552671", first_name="Ann")


def stats_of(store, profile):
    s = stats.for_profile(store, profile.pk)
    return s.orders_count, s.total_spent, s.average_order_value, s.first_order_at, s.last_order_at


def has_row(profile) -> bool:
    return CustomerStats.objects.filter(pk=profile.pk).exists()


def test_stats_follow_orders_through_cancel_and_refund(store, ann):
    t0 = timezone.now() - timedelta(days=10)
    assert stats_of(store, ann) == (0, Decimal("0"), Decimal("0"), None, None) and not has_row(ann)
    service.record_order(store, external_id="1001", total="40.00", profile=ann, payment_status="paid", placed_at=t0)
    service.record_order(store, external_id="1002", total="80.50", profile=ann, payment_status="paid", placed_at=t0 + timedelta(days=5))
    assert stats_of(store, ann) == (2, Decimal("120.50"), Decimal("60.25"), t0, t0 + timedelta(days=5))
    row = CustomerStats.objects.get(pk=ann.pk)
    assert (row.store_id, row.currency, row.other_currency_orders) == (store.pk, "USD", 0)

    # An update of the amount, then cancelling, voiding and refunding take orders out.
    service.record_order(store, external_id="1002", total="60.50", profile=ann, payment_status="paid", placed_at=t0 + timedelta(days=5))
    assert stats_of(store, ann)[:3] == (2, Decimal("100.50"), Decimal("50.25"))
    service.record_order(store, external_id="1002", total="60.50", profile=ann, payment_status="paid",
                         placed_at=t0 + timedelta(days=5), cancelled_at=timezone.now())
    assert stats_of(store, ann) == (1, Decimal("40.00"), Decimal("40.00"), t0, t0)
    service.record_order(store, external_id="1001", total="40.00", profile=ann, payment_status="refunded", placed_at=t0)
    assert stats_of(store, ann) == (0, Decimal("0"), Decimal("0"), None, None)
    assert has_row(ann)  # it has orders (none counted): a row of zeros


def test_orders_in_another_currency_are_left_out_and_counted(store, ann):
    t0 = timezone.now() - timedelta(days=3)
    service.record_order(store, external_id="usd", total="40.00", currency="USD", profile=ann, payment_status="paid", placed_at=t0)
    service.record_order(store, external_id="eur", total="100.00", currency="eur", profile=ann, payment_status="paid",
                         placed_at=t0 + timedelta(days=1))
    service.record_order(store, external_id="gbp-void", total="7.00", currency="GBP", profile=ann, payment_status="voided")
    row = stats.for_profile(store, ann.pk)
    # The euro order is in no figure (not even the last order), and it is reported.
    assert stats_of(store, ann) == (1, Decimal("40.00"), Decimal("40.00"), t0, t0)
    assert (row.currency, row.other_currency_orders) == ("USD", 1)  # the voided one does not count at all
    assert Order.objects.get(external_id="eur").currency == "EUR"  # the order keeps what it was charged in

    totals = stats.order_totals(store)
    assert (totals["orders"], totals["revenue"], totals["average_order_value"], totals["currency"], totals["other_currency_orders"]) == (
        1, Decimal("40.00"), Decimal("40.00"), "USD", 1)

    # Corrected to the store's currency by a later update, it counts.
    service.record_order(store, external_id="eur", total="108.00", currency="USD", profile=ann, payment_status="paid",
                         placed_at=t0 + timedelta(days=1))
    assert stats_of(store, ann) == (2, Decimal("148.00"), Decimal("74.00"), t0, t0 + timedelta(days=1))
    assert stats.for_profile(store, ann.pk).other_currency_orders == 0


def test_moving_an_order_to_another_profile_fixes_both(store, ann):
    bob = profiles.create_profile(store, phone="+14155552672", first_name="Bob")
    service.record_order(store, external_id="A", total="10", profile=ann, payment_status="paid")
    assert has_row(ann)
    service.record_order(store, external_id="A", total="10", profile=bob, payment_status="paid")
    assert stats_of(store, ann)[0] == 0 and not has_row(ann)  # no orders left: no row
    assert stats_of(store, bob)[:2] == (1, Decimal("10.00"))


def test_merge_recomputes_the_survivor_and_drops_the_tombstones_row(store, ann):
    bob = profiles.create_profile(store, email="ann@example.com")
    t0 = timezone.now() - timedelta(days=2)
    service.record_order(store, external_id="a1", total="30", profile=ann, payment_status="paid", placed_at=t0)
    service.record_order(store, external_id="b1", total="20", profile=bob, payment_status="paid", placed_at=t0 + timedelta(days=1))
    service.record_order(store, external_id="b2", total="5", currency="EUR", profile=bob, payment_status="paid")
    merged, _ = profiles.identify(store, phone="+14155552671", email="ann@example.com")
    assert merged.pk == ann.pk
    assert stats_of(store, ann) == (2, Decimal("50.00"), Decimal("25.00"), t0, t0 + timedelta(days=1))
    assert stats.for_profile(store, ann.pk).other_currency_orders == 1
    assert not has_row(bob)


def test_older_update_never_overwrites_newer_state(store, ann):
    newer, older = timezone.now(), timezone.now() - timedelta(hours=1)
    service.record_order(store, external_id="X", total="25", profile=ann, payment_status="paid", source_updated_at=newer)
    order, created = service.record_order(store, external_id="X", total="25", profile=ann, payment_status="pending", source_updated_at=older)
    assert not created and order.payment_status == "paid"


def test_bulk_recompute_matches_incremental(store, ann):
    bob = profiles.create_profile(store, phone="+14155552672")
    carl = profiles.create_profile(store, phone="+14155552673")
    dora = profiles.create_profile(store, phone="+14155552674")
    for i, (who, total, status, currency) in enumerate([
        (ann, "10.10", "paid", "USD"), (ann, "20.20", "pending", "USD"), (ann, "3.00", "paid", "EUR"),
        (bob, "5", "voided", "USD"), (bob, "7.77", "paid", "USD"), (carl, "1", "refunded", "CAD"),
    ]):
        service.record_order(store, external_id=f"o{i}", total=total, currency=currency, profile=who, payment_status=status,
                             placed_at=timezone.now() - timedelta(days=i))
    def everything():
        return {p.pk: (stats_of(store, p), stats.for_profile(store, p.pk).other_currency_orders, has_row(p)) for p in (ann, bob, carl, dora)}

    expected = everything()
    assert expected[ann.pk] == ((2, Decimal("30.30"), Decimal("15.15"), expected[ann.pk][0][3], expected[ann.pk][0][4]), 1, True)
    assert expected[carl.pk] == ((0, Decimal("0"), Decimal("0"), None, None), 0, True)
    assert expected[dora.pk][2] is False
    assert stats.recompute_store(store) == 0  # incremental writes left nothing to correct

    # Damage every kind of way: wrong figures, a missing row, a row that should not exist.
    CustomerStats.objects.filter(pk=ann.pk).update(orders_count=99, total_spent=Decimal("1"), other_currency_orders=0, first_order_at=None)
    CustomerStats.objects.filter(pk=bob.pk).delete()
    CustomerStats.objects.create(profile=dora, store=store, currency="USD", orders_count=3)
    CustomerStats.objects.filter(pk=carl.pk).update(currency="EUR")
    assert stats.recompute_store(store) == 4
    assert everything() == expected
    assert stats.recompute_store(store) == 0


def test_recompute_after_the_store_changes_currency(store, ann):
    from textpilot.stores import service as stores

    service.record_order(store, external_id="u", total="10", currency="USD", profile=ann, payment_status="paid")
    service.record_order(store, external_id="e", total="30", currency="EUR", profile=ann, payment_status="paid")
    stores.update_store_settings(store, currency="EUR")
    assert stats.for_profile(store, ann.pk).currency == "USD"  # stale until recomputed, and says so
    assert stats.recompute_store(store) == 1
    row = stats.for_profile(store, ann.pk)
    assert (row.orders_count, row.total_spent, row.currency, row.other_currency_orders) == (1, Decimal("30.00"), "EUR", 1)


def test_stats_are_per_store(store, other_store, ann):
    theirs = profiles.create_profile(other_store, phone="+4915123456789")
    service.record_order(other_store, external_id="B1", total="99", profile=theirs, payment_status="paid")  # EUR store
    service.record_order(store, external_id="A1", total="5", profile=ann, payment_status="paid")
    row = CustomerStats.objects.get(pk=theirs.pk)
    assert (row.store_id, row.currency, row.orders_count, row.total_spent) == (other_store.pk, "EUR", 1, Decimal("99.00"))

    # Reads are scoped: another store's profile id reads as zeros, never as its stats.
    assert stats.for_profile(store, theirs.pk).orders_count == 0
    assert stats.for_profiles(store, [ann.pk, theirs.pk])[theirs.pk].orders_count == 0
    assert stats.for_profiles(store, [ann.pk, theirs.pk])[ann.pk].orders_count == 1
    # A store's recompute touches only its rows, even a damaged row of another store.
    CustomerStats.objects.filter(pk=theirs.pk).update(orders_count=7)
    assert stats.recompute_store(store) == 0
    assert CustomerStats.objects.get(pk=theirs.pk).orders_count == 7
    assert stats.order_totals(store)["revenue"] == Decimal("5.00")
    # The export of one store's customer carries only its row.
    assert service.export_for_profiles(store, [ann.pk, theirs.pk])["customer_stats"] == [
        {"profile_id": ann.pk, "orders_count": 1, "total_spent": Decimal("5.00"), "average_order_value": Decimal("5.00"),
         "first_order_at": stats.for_profile(store, ann.pk).first_order_at, "last_order_at": stats.for_profile(store, ann.pk).last_order_at,
         "currency": "USD", "other_currency_orders": 0}]


def test_an_order_write_costs_a_fixed_number_of_stats_queries(store, ann, django_assert_num_queries):
    bob = profiles.create_profile(store, phone="+14155552672")
    for n in range(3):
        service.record_order(store, external_id=f"o{n}", total="1", profile=ann, payment_status="paid")
    # Lock the row, then recompute it from the orders in one statement; a profile without
    # orders costs a third (its row is deleted).
    with django_assert_num_queries(2):
        stats.refresh(store, ann.pk)
    with django_assert_num_queries(3):
        stats.refresh(store, bob.pk)
    assert stats_of(store, ann)[:2] == (3, Decimal("3.00")) and not has_row(bob)


@pytest.mark.postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_orders_of_one_new_customer_at_once_both_count(store, ann):
    """The second writer waits on the stats row the first one locked, then reads both orders
    (without the lock it would compute from a snapshot missing the first and overwrite it)."""
    seen = {}
    first_wrote = threading.Event()

    def first():
        try:
            with transaction.atomic():
                service.record_order(store, external_id="A", total="10", profile=ann, payment_status="paid")
                first_wrote.set()
                time.sleep(0.5)  # the second writer reaches the stats row meanwhile
                seen["first_commits"] = time.monotonic()
        finally:
            first_wrote.set()
            connection.close()

    def second():
        try:
            first_wrote.wait(10)
            service.record_order(store, external_id="B", total="20.50", profile=ann, payment_status="paid")
            seen["second_done"] = time.monotonic()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert seen["second_done"] > seen["first_commits"]  # it waited for the first transaction
    assert stats_of(store, ann)[:3] == (2, Decimal("30.50"), Decimal("15.25"))
    assert stats.recompute_store(store) == 0


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
    args = {"external_id": "Z", "total": "10", "profile": ann, **kwargs}
    with pytest.raises(FieldError) as error:
        service.record_order(store, **args)
    assert error.value.field == field
    assert not Order.objects.exists() and not OrderLine.objects.exists() and not CustomerStats.objects.exists()


def test_order_of_another_stores_profile_is_refused(store, other_store):
    theirs = profiles.create_profile(other_store, phone="+4915123456789")
    with pytest.raises(NotFound):
        service.record_order(store, external_id="E", total="1", profile=theirs)
    assert not CustomerStats.objects.exists()
