"""The rollups leave profiles_profile for commerce_customerstats (commerce 0002 + profiles
0008) and come back on the way down, values intact, on a small dataset of two stores."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("profiles", "0007_backfill_identifier_history"), ("commerce", "0001_initial")]
AFTER = [("profiles", "0008_profile_rollups_to_customer_stats"), ("commerce", "0002_customer_stats")]
ROLLUPS = ("orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at")
T1, T2 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime(2025, 6, 7, 8, 9, 10, tzinfo=timezone.utc)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def columns(table):
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


@pytest.mark.django_db(transaction=True)
def test_rollups_are_copied_to_customer_stats_and_back():
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        Store, Profile, Order = (old.get_model(*label) for label in (("stores", "Store"), ("profiles", "Profile"), ("commerce", "Order")))
        usd = Store.objects.create(name="Acme", slug="acme", currency="USD")
        eur = Store.objects.create(name="Berlin", slug="berlin", currency="EUR")
        ann = Profile.objects.create(store=usd, phone="+14155552671", orders_count=2, total_spent=Decimal("50.00"),
                                     average_order_value=Decimal("25.00"), first_order_at=T1, last_order_at=T2)
        bob = Profile.objects.create(store=usd, phone="+14155552672")  # never ordered: gets no row
        carl = Profile.objects.create(store=usd, phone="+14155552673")  # only a cancelled order: a row of zeros
        dora = Profile.objects.create(store=eur, phone="+4915123456789", orders_count=1, total_spent=Decimal("9.99"),
                                      average_order_value=Decimal("9.99"), first_order_at=T1, last_order_at=T1)
        for n, (who, placed) in enumerate([(ann, T1), (ann, T2), (dora, T1)]):
            Order.objects.create(store=who.store, profile=who, external_id=f"o{n}", total="25.00", currency=who.store.currency,
                                 payment_status="paid", placed_at=placed)
        Order.objects.create(store=usd, profile=carl, external_id="c", total="5.00", payment_status="paid", placed_at=T1, cancelled_at=T2)

        new = migrate(AFTER)
        assert not set(ROLLUPS) & columns("profiles_profile")
        CustomerStats = new.get_model("commerce", "CustomerStats")
        rows = {row["profile_id"]: row for row in CustomerStats.objects.values("profile_id", "store_id", *ROLLUPS, "currency",
                                                                                "other_currency_orders")}
        assert set(rows) == {ann.pk, carl.pk, dora.pk}
        assert rows[ann.pk] == {"profile_id": ann.pk, "store_id": usd.pk, "orders_count": 2, "total_spent": Decimal("50.00"),
                                "average_order_value": Decimal("25.00"), "first_order_at": T1, "last_order_at": T2,
                                "currency": "USD", "other_currency_orders": 0}
        assert (rows[carl.pk]["orders_count"], rows[carl.pk]["total_spent"], rows[carl.pk]["last_order_at"]) == (0, Decimal("0"), None)
        assert (rows[dora.pk]["store_id"], rows[dora.pk]["currency"], rows[dora.pk]["total_spent"]) == (eur.pk, "EUR", Decimal("9.99"))

        # Backwards the profile columns take what the stats table holds by then.
        CustomerStats.objects.filter(pk=dora.pk).update(total_spent=Decimal("12.34"))
        old = migrate(BEFORE)
        assert "commerce_customerstats" not in connection.introspection.table_names()
        Profile = old.get_model("profiles", "Profile")
        back = {p["pk"]: p for p in Profile.objects.values("pk", *ROLLUPS)}
        assert back[ann.pk] == {"pk": ann.pk, "orders_count": 2, "total_spent": Decimal("50.00"), "average_order_value": Decimal("25.00"),
                                "first_order_at": T1, "last_order_at": T2}
        assert back[bob.pk] == {"pk": bob.pk, "orders_count": 0, "total_spent": Decimal("0"), "average_order_value": Decimal("0"),
                                "first_order_at": None, "last_order_at": None}
        assert (back[dora.pk]["orders_count"], back[dora.pk]["total_spent"]) == (1, Decimal("12.34"))
    finally:
        migrate(leaf)
