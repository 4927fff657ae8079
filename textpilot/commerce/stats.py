"""Customer stats and revenue figures: which orders count, in which currency, and the
per-customer rollups commerce keeps in its own table (`CustomerStats`, 1:1 with a profile).

The rule (docs/decisions.md, "One currency rule"):
* an order *counts* when it is not cancelled and its payment is pending, authorized, paid or
  partially refunded (refunded and voided orders took no money);
* money is only ever summed in the store's currency. A counted order in another currency is
  left out of every figure (count, spent, average, first/last order, revenue) and reported
  instead: `other_currency_orders` on the customer's row and in `order_totals`. textpilot has
  no exchange-rate source, and the sources that convert already do: Shopify orders are
  recorded in shop money (the connector reads the shop-currency amounts), so they count
  whenever the shop's currency is the store's;
* a profile has a stats row when it has at least one order (any state, any currency); no
  row reads as zeros (`for_profile`, `for_profiles`). Segment queries over the stats must
  treat a missing row as zeros too (a LEFT JOIN), e.g. for "never ordered".

The rows are recomputed from the orders inside the transaction that changed the orders
(`refresh`), with the row locked first, so two concurrent orders of one customer never
overwrite each other's figures; `recompute_store` rebuilds a whole store in one statement."""
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from textpilot.commerce.models import COUNTED_PAYMENT_STATUSES, CustomerStats, Order
from textpilot.stores.models import Store

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
VALUE_FIELDS = ("orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at", "currency",
                "other_currency_orders")


def counted_orders_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}cancelled_at__isnull": True, f"{prefix}payment_status__in": COUNTED_PAYMENT_STATUSES})


def revenue_orders(store: Store) -> QuerySet[Order]:
    """The orders whose money counts: counted and in the store's currency."""
    return Order.objects.filter(counted_orders_q(), store=store, currency=store.currency)


def average(spent: Decimal, count: int) -> Decimal:
    """spent/count to the cent, half to even (recompute_store does the same in integer cents)."""
    return (spent / count).quantize(CENT) if count else ZERO


# --- one customer -------------------------------------------------------------------------

def _aggregate(store: Store, profile_id: int) -> tuple[dict, int]:
    """(stats values, how many orders the profile has at all) in one query."""
    mine = counted_orders_q() & Q(currency=store.currency)
    row = Order.objects.filter(store=store, profile_id=profile_id).aggregate(
        orders=Count("id"), n=Count("id", filter=mine), spent=Sum("total", filter=mine),
        first_at=Min("placed_at", filter=mine), last_at=Max("placed_at", filter=mine),
        other=Count("id", filter=counted_orders_q() & ~Q(currency=store.currency)),
    )
    spent = (row["spent"] or ZERO).quantize(CENT)
    values = {
        "orders_count": row["n"], "total_spent": spent, "average_order_value": average(spent, row["n"]),
        "first_order_at": row["first_at"], "last_order_at": row["last_at"], "currency": store.currency,
        "other_currency_orders": row["other"],
    }
    return values, row["orders"]


def compute(store: Store, profile_id: int) -> dict:
    """What the profile's stats row should hold, from its orders (nothing is written)."""
    return _aggregate(store, profile_id)[0]


def refresh(store: Store, *profile_ids: int | None) -> None:
    """Recompute the stats rows of these profiles from their orders (call inside the
    transaction that changed the orders). A profile left without orders loses its row."""
    for profile_id in sorted({pk for pk in profile_ids if pk is not None}):  # one order: no lock cycles
        # Lock first (insert or touch the row; both lock it until commit), then read the
        # orders: a concurrent writer for the same customer waits here and then sees ours.
        CustomerStats.objects.bulk_create(
            [CustomerStats(profile_id=profile_id, store=store, currency=store.currency)],
            update_conflicts=True, unique_fields=["profile"], update_fields=["currency"],
        )
        values, orders = _aggregate(store, profile_id)
        rows = CustomerStats.objects.filter(store=store, pk=profile_id)
        if orders:
            rows.update(**values)
        else:
            rows.delete()


def remove(store: Store, profile_id: int) -> None:
    CustomerStats.objects.filter(store=store, pk=profile_id).delete()


# --- reading ------------------------------------------------------------------------------

def zero(store: Store, profile_id: int) -> CustomerStats:
    """The stats of a profile without orders (not saved)."""
    return CustomerStats(profile_id=profile_id, store=store, currency=store.currency, total_spent=ZERO, average_order_value=ZERO)


def for_profile(store: Store, profile_id: int) -> CustomerStats:
    return CustomerStats.objects.filter(store=store, pk=profile_id).first() or zero(store, profile_id)


def for_profiles(store: Store, profile_ids) -> dict[int, CustomerStats]:
    """profile id -> stats for every id given (zeros where there is no row), in one query."""
    ids = list(profile_ids)
    found = {stats.pk: stats for stats in CustomerStats.objects.filter(store=store, pk__in=ids)}
    return {pk: found.get(pk) or zero(store, pk) for pk in ids}


def export_for_profiles(store: Store, profile_ids: list[int]) -> dict:
    rows = CustomerStats.objects.filter(store=store, pk__in=profile_ids).order_by("pk").values("profile_id", *VALUE_FIELDS)
    return {"customer_stats": list(rows)}


# --- store figures --------------------------------------------------------------------------

def order_totals(store: Store, since: datetime | None = None) -> dict:
    """Orders, revenue and average order value in the store's currency (since a time, up to
    now), and how many counted orders in other currencies were left out of them."""
    # Bounded by now: an order stamped in the future (clock error) belongs to no past window.
    orders = Order.objects.filter(counted_orders_q(), store=store, placed_at__lte=timezone.now())
    if since:
        orders = orders.filter(placed_at__gte=since)
    mine = Q(currency=store.currency)
    row = orders.aggregate(orders=Count("id", filter=mine), revenue=Sum("total", filter=mine), other=Count("id", filter=~mine))
    revenue = (row["revenue"] or ZERO).quantize(CENT)
    return {
        "orders": row["orders"], "revenue": revenue, "average_order_value": average(revenue, row["orders"]),
        "currency": store.currency, "other_currency_orders": row["other"],
    }


# --- a whole store ----------------------------------------------------------------------------

def recompute_store(store: Store) -> int:
    """Recompute the stats of every customer of the store from its orders (after bulk loads,
    or after the store's currency changed). Returns how many rows were corrected.

    Same rule as `compute`, in two set-based statements: aggregate the store's orders once
    (GROUP BY profile) and upsert only the rows that are missing or differ, then delete the
    rows of profiles left without orders; a re-run over correct data writes nothing. The
    average is total/count rounded half-to-even to the cent in integer cents, so SQLite and
    PostgreSQL give exactly the values `compute` gives."""
    qn = connection.ops.quote_name
    s_meta, o_meta = CustomerStats._meta, Order._meta

    def scol(name):
        return qn(s_meta.get_field(name).column)

    def ocol(name):
        return "o." + qn(o_meta.get_field(name).column)

    if connection.vendor == "postgresql":
        cents = "(coalesce(sum(CASE WHEN kind = 1 THEN total END), 0) * 100)::bigint"
        distinct = "IS DISTINCT FROM"
    else:  # SQLite stores decimals as REAL: round the float sum to whole cents first
        cents = "CAST(round(coalesce(sum(CASE WHEN kind = 1 THEN total END), 0) * 100) AS INTEGER)"
        distinct = "IS NOT"
    statuses = [str(status) for status in COUNTED_PAYMENT_STATUSES]
    q, r = "(c.cents / c.n)", "(c.cents %% c.n)"  # %% is a literal % with parameters
    average_cents = f"({q} + CASE WHEN 2 * {r} > c.n OR (2 * {r} = c.n AND {q} %% 2 = 1) THEN 1 ELSE 0 END)"
    table = qn(s_meta.db_table)
    columns = VALUE_FIELDS
    upsert = f"""
        INSERT INTO {table} ({scol('profile')}, {scol('store')}, {', '.join(scol(c) for c in columns)})
        SELECT f.profile_id, %s, f.n, f.spent, f.average, f.first_at, f.last_at, %s, f.other
        FROM (
            SELECT c.profile_id, c.n, CASE WHEN c.n > 0 THEN c.cents / 100.0 ELSE 0 END AS spent,
                   CASE WHEN c.n > 0 THEN {average_cents} / 100.0 ELSE 0 END AS average, c.first_at, c.last_at, c.other
            FROM (
                SELECT profile_id, sum(CASE WHEN kind = 1 THEN 1 ELSE 0 END) AS n, {cents} AS cents,
                       min(CASE WHEN kind = 1 THEN placed_at END) AS first_at,
                       max(CASE WHEN kind = 1 THEN placed_at END) AS last_at,
                       sum(CASE WHEN kind = 2 THEN 1 ELSE 0 END) AS other
                FROM (
                    -- kind: 1 counted in the store's currency, 2 counted in another, 0 not counted
                    SELECT {ocol('profile')} AS profile_id, {ocol('total')} AS total, {ocol('placed_at')} AS placed_at,
                           CASE WHEN {ocol('cancelled_at')} IS NULL AND {ocol('payment_status')} IN ({", ".join(["%s"] * len(statuses))})
                                THEN CASE WHEN {ocol('currency')} = %s THEN 1 ELSE 2 END ELSE 0 END AS kind
                    FROM {qn(o_meta.db_table)} o
                    WHERE {ocol('store')} = %s AND {ocol('profile')} IS NOT NULL
                ) k
                GROUP BY profile_id
            ) c
        ) f
        LEFT JOIN {table} s ON s.{scol('profile')} = f.profile_id
        WHERE s.{scol('profile')} IS NULL OR s.{scol('orders_count')} <> f.n OR s.{scol('total_spent')} <> f.spent
           OR s.{scol('average_order_value')} <> f.average OR s.{scol('first_order_at')} {distinct} f.first_at
           OR s.{scol('last_order_at')} {distinct} f.last_at OR s.{scol('currency')} <> %s
           OR s.{scol('other_currency_orders')} <> f.other
        ON CONFLICT ({scol('profile')}) DO UPDATE SET {', '.join(f'{scol(c)} = excluded.{scol(c)}' for c in columns)}
    """
    orphans = f"""
        DELETE FROM {table} WHERE {scol('store')} = %s AND NOT EXISTS (
            SELECT 1 FROM {qn(o_meta.db_table)} o WHERE {ocol('profile')} = {table}.{scol('profile')} AND {ocol('store')} = %s)
    """
    with connection.cursor() as cursor:
        cursor.execute(upsert, [store.pk, store.currency, *statuses, store.currency, store.pk, store.currency])
        corrected = cursor.rowcount
        cursor.execute(orphans, [store.pk, store.pk])
        return corrected + cursor.rowcount
