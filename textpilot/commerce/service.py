"""Commerce rules: recording orders and checkouts, and keeping the profile rollups true.

Rollups (orders_count, total_spent, average_order_value, first/last order) count orders that
are not cancelled and whose payment is pending, authorized, paid or partially refunded.
They are recomputed from the orders table for the affected profile inside the same
transaction as the order write, so they can never drift from the orders."""
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Avg, Count, DecimalField, Max, Min, Q, Sum
from django.utils import timezone

from textpilot.commerce.models import COUNTED_PAYMENT_STATUSES, Checkout, Order, OrderLine, PaymentStatus, Product
from textpilot.common import hooks
from textpilot.common.errors import FieldError, NotFound
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store

MONEY = DecimalField(max_digits=14, decimal_places=2)


def parse_money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise FieldError(f"{field} must be a decimal amount", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise FieldError(f"{field} must be zero or more", field=field)
    return amount.quantize(Decimal("0.01"))


def counted_orders_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}cancelled_at__isnull": True, f"{prefix}payment_status__in": COUNTED_PAYMENT_STATUSES})


def rollups_for(store: Store, profile_id: int) -> dict:
    stats = Order.objects.filter(counted_orders_q(), store=store, profile_id=profile_id).aggregate(
        orders_count=Count("id"), total_spent=Sum("total"), first_order_at=Min("placed_at"), last_order_at=Max("placed_at")
    )
    count = stats["orders_count"] or 0
    spent = (stats["total_spent"] or Decimal("0")).quantize(Decimal("0.01"))
    return {
        "orders_count": count,
        "total_spent": spent,
        "average_order_value": (spent / count).quantize(Decimal("0.01")) if count else Decimal("0"),
        "first_order_at": stats["first_order_at"],
        "last_order_at": stats["last_order_at"],
    }


def refresh_profile_rollups(store: Store, profile_id: int) -> dict:
    values = rollups_for(store, profile_id)
    Profile.objects.filter(store=store, pk=profile_id).update(**values)
    return values


def recompute_all_rollups(store: Store) -> int:
    """Recompute the rollups of every profile of the store from its orders (after bulk loads).

    Same rule as `rollups_for`: count orders that are not cancelled and whose payment is
    pending, authorized, paid or partially refunded; the average is total/count rounded
    half-to-even to the cent (like Decimal.quantize there), done in integer cents so SQLite
    and PostgreSQL give exactly the values `rollups_for` gives.

    One set-based statement: aggregate the store's orders once (GROUP BY profile), join it
    to the store's profiles and UPDATE only the profiles whose stored rollups differ, so a
    re-run over correct data writes nothing. Returns how many profiles were corrected."""
    from django.db import connection

    qn = connection.ops.quote_name
    p_meta, o_meta = Profile._meta, Order._meta

    def pcol(name):
        return qn(p_meta.get_field(name).column)

    def ocol(name):
        return "o." + qn(o_meta.get_field(name).column)

    if connection.vendor == "postgresql":
        cents = f"(sum({ocol('total')}) * 100)::bigint"
        distinct = "IS DISTINCT FROM"
    else:  # SQLite stores decimals as REAL: round the float sum to whole cents first
        cents = f"CAST(round(sum({ocol('total')}) * 100) AS INTEGER)"
        distinct = "IS NOT"
    spent = "c.cents / 100.0"
    statuses = [str(status) for status in COUNTED_PAYMENT_STATUSES]
    q, r = "(c.cents / c.n)", "(c.cents %% c.n)"  # %% is a literal % with parameters
    average_cents = f"({q} + CASE WHEN 2 * {r} > c.n OR (2 * {r} = c.n AND {q} %% 2 = 1) THEN 1 ELSE 0 END)"
    sql = f"""
        UPDATE {qn(p_meta.db_table)} AS t
        SET {pcol('orders_count')} = f.n, {pcol('total_spent')} = f.spent, {pcol('average_order_value')} = f.average,
            {pcol('first_order_at')} = f.first_at, {pcol('last_order_at')} = f.last_at
        FROM (
            SELECT p.{pcol('id')} AS id, coalesce(c.n, 0) AS n,
                   CASE WHEN c.n > 0 THEN {spent} ELSE 0 END AS spent,
                   CASE WHEN c.n > 0 THEN {average_cents} / 100.0 ELSE 0 END AS average,
                   c.first_at, c.last_at
            FROM {qn(p_meta.db_table)} p LEFT JOIN (
                SELECT {ocol('profile')} AS profile_id, count(*) AS n, {cents} AS cents,
                       min({ocol('placed_at')}) AS first_at, max({ocol('placed_at')}) AS last_at
                FROM {qn(o_meta.db_table)} o
                WHERE {ocol('store')} = %s AND {ocol('profile')} IS NOT NULL AND {ocol('cancelled_at')} IS NULL
                  AND {ocol('payment_status')} IN ({", ".join(["%s"] * len(statuses))})
                GROUP BY {ocol('profile')}
            ) c ON c.profile_id = p.{pcol('id')}
            WHERE p.{pcol('store')} = %s
        ) f
        WHERE t.{pcol('id')} = f.id AND t.{pcol('store')} = %s
          AND (t.{pcol('orders_count')} <> f.n OR t.{pcol('total_spent')} <> f.spent
               OR t.{pcol('average_order_value')} <> f.average
               OR t.{pcol('first_order_at')} {distinct} f.first_at OR t.{pcol('last_order_at')} {distinct} f.last_at)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [store.pk, *statuses, store.pk, store.pk])
        return cursor.rowcount


@transaction.atomic
def record_order(
    store: Store,
    *,
    external_id: str,
    total,
    profile: Profile | None = None,
    currency: str | None = None,
    payment_status: str = PaymentStatus.PENDING,
    fulfillment_status: str = Order.FulfillmentStatus.UNFULFILLED,
    placed_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    order_number: str = "",
    lines: list[dict] | None = None,
    discount_codes: list | None = None,
    shipping: dict | None = None,
    source: str = "",
    source_updated_at: datetime | None = None,
) -> tuple[Order, bool]:
    """Create or update an order by its external id; returns (order, created).

    An update carrying an older `source_updated_at` than the stored one is ignored, so
    webhooks arriving out of order never roll an order back."""
    if not (external_id := str(external_id or "").strip()):
        raise FieldError("external_id is required", field="external_id")
    if profile is not None and profile.store_id != store.pk:
        raise NotFound("no such profile in this store", field="profile_id")
    if payment_status not in PaymentStatus.values:
        raise FieldError(f"payment_status must be one of {', '.join(PaymentStatus.values)}", field="payment_status")
    if fulfillment_status not in Order.FulfillmentStatus.values:
        raise FieldError(f"fulfillment_status must be one of {', '.join(Order.FulfillmentStatus.values)}", field="fulfillment_status")
    values = {
        "profile": profile,
        "total": parse_money(total, "total"),
        "currency": (currency or store.currency).upper(),
        "payment_status": payment_status,
        "fulfillment_status": fulfillment_status,
        "placed_at": placed_at or timezone.now(),
        "cancelled_at": cancelled_at,
        "order_number": order_number,
        "discount_codes": discount_codes or [],
        "shipping": shipping or {},
        "source": source,
        "source_updated_at": source_updated_at,
    }
    clean_lines = [_clean_line(store, line, index) for index, line in enumerate(lines or [])]
    existing = Order.objects.select_for_update().filter(store=store, external_id=external_id).first()
    if existing is not None:
        if existing.source_updated_at and source_updated_at and source_updated_at < existing.source_updated_at:
            return existing, False
        previous_profile_id = existing.profile_id
        for name, value in values.items():
            setattr(existing, name, value)
        existing.save()
        if lines is not None:
            existing.lines.all().delete()
            OrderLine.objects.bulk_create(OrderLine(store=store, order=existing, **line) for line in clean_lines)
        for profile_id in {previous_profile_id, existing.profile_id} - {None}:
            refresh_profile_rollups(store, profile_id)
        _announce(store, existing, created=False)
        return existing, False
    order = Order.objects.create(store=store, external_id=external_id, **values)
    OrderLine.objects.bulk_create(OrderLine(store=store, order=order, **line) for line in clean_lines)
    if order.profile_id:
        refresh_profile_rollups(store, order.profile_id)
    _announce(store, order, created=True)
    return order, True


def _announce(store: Store, order: Order, created: bool) -> None:
    hooks.order_recorded.fire(store.pk, [hooks.OrderRecorded(order.pk, order.profile_id, order.total, order.currency,
                                                             order.placed_at, created)])


def _clean_line(store: Store, line: dict, index: int) -> dict:
    field = f"lines[{index}]"
    title = str(line.get("title") or "").strip()
    if not title:
        raise FieldError(f"{field}.title is required", field=f"{field}.title")
    quantity = line.get("quantity", 1)
    if not isinstance(quantity, int) or quantity < 1:
        raise FieldError(f"{field}.quantity must be a whole number of at least 1", field=f"{field}.quantity")
    product = None
    if line.get("product_external_id"):
        product = Product.objects.filter(store=store, external_id=str(line["product_external_id"])).first()
    return {
        "title": title[:255],
        "sku": str(line.get("sku") or "")[:64],
        "quantity": quantity,
        "price": parse_money(line.get("price", 0), f"{field}.price"),
        "product": product,
    }


def order_totals(store: Store, since: datetime | None = None) -> dict:
    # Bounded by now: an order stamped in the future (clock error) belongs to no past window.
    orders = Order.objects.filter(counted_orders_q(), store=store, placed_at__lte=timezone.now())
    if since:
        orders = orders.filter(placed_at__gte=since)
    stats = orders.aggregate(orders=Count("id"), revenue=Sum("total"), average=Avg("total"))
    return {
        "orders": stats["orders"] or 0,
        "revenue": (stats["revenue"] or Decimal("0")).quantize(Decimal("0.01")),
        "average_order_value": Decimal(stats["average"] or 0).quantize(Decimal("0.01")),
    }


def abandoned_checkouts_count(store: Store) -> int:
    return Checkout.objects.filter(store=store, status=Checkout.Status.ABANDONED).count()


def recent_orders(store: Store, limit: int = 10):
    return Order.objects.filter(store=store).select_related("profile").order_by("-placed_at")[:limit]


def reassign_profile(store: Store, source_id: int, target_id: int) -> None:
    """Move orders and checkouts of one profile to another (profile merge), then recompute
    the survivor's rollups."""
    Order.objects.filter(store=store, profile_id=source_id).update(profile_id=target_id)
    Checkout.objects.filter(store=store, profile_id=source_id).update(profile_id=target_id)
    refresh_profile_rollups(store, target_id)


# Domain events an order emits, keyed so a replayed order never emits twice.
ORDER_EVENTS = (
    ("placed_order", lambda order: True),
    ("paid_order", lambda order: order.payment_status == PaymentStatus.PAID),
    ("fulfilled_order", lambda order: order.fulfillment_status in (Order.FulfillmentStatus.FULFILLED, Order.FulfillmentStatus.DELIVERED)),
    ("delivered_order", lambda order: order.fulfillment_status == Order.FulfillmentStatus.DELIVERED),
    ("cancelled_order", lambda order: order.cancelled_at is not None),
)


def emit_order_events(store: Store, order: Order, source: str = "") -> list[str]:
    """Record placed/paid/fulfilled/delivered/cancelled events the order's state implies (once each)."""
    from textpilot.events import service as events

    if order.profile_id is None:
        return []
    emitted = []
    properties = {
        "order_id": order.external_id, "order_number": order.order_number, "value": str(order.total),
        "currency": order.currency, "items": [line.title for line in order.lines.all()[:20]],
    }
    for name, applies in ORDER_EVENTS:
        if applies(order):
            # Paid/fulfilled/delivered carry no time of their own: the platform's updated_at of
            # the state that shows them is the best we know (else now, when we learn it).
            occurred_at = {"placed_order": order.placed_at, "cancelled_order": order.cancelled_at}.get(name, order.source_updated_at)
            _, created = events.record_event(
                store, order.profile, name, properties, occurred_at=occurred_at,
                idempotency_key=f"order:{order.external_id}:{name}", source=source,
            )
            if created:
                emitted.append(name)
    return emitted


@transaction.atomic
def record_order_for(store: Store, profile_ref: dict, *, updated_at=None, source: str = "api", **fields) -> tuple[Order, bool]:
    """API path: resolve (or create) the buyer by identifiers, record the order, emit its events."""
    from textpilot.profiles import service as profiles

    identifiers = {k: v for k, v in (profile_ref or {}).items() if v not in (None, "")}
    if not identifiers:
        raise FieldError("the order names no customer: give profile.phone, .email or .external_id", field="profile")
    try:
        profile, _ = profiles.identify(store, source=source, **identifiers)
    except FieldError as exc:
        raise FieldError(exc.message, field=f"profile.{exc.field}") from None
    order, created = record_order(store, profile=profile, source=source, source_updated_at=updated_at, **fields)
    emit_order_events(store, order, source=source)
    return order, created


def export_for_profiles(store: Store, profile_ids: list[int]) -> dict:
    orders = Order.objects.filter(store=store, profile_id__in=profile_ids).prefetch_related("lines").order_by("placed_at")
    checkouts = Checkout.objects.filter(store=store, profile_id__in=profile_ids).order_by("started_at")
    return {
        "orders": [
            {
                "external_id": o.external_id, "order_number": o.order_number, "total": o.total, "currency": o.currency,
                "payment_status": o.payment_status, "fulfillment_status": o.fulfillment_status, "placed_at": o.placed_at,
                "cancelled_at": o.cancelled_at, "discount_codes": o.discount_codes, "shipping": o.shipping,
                "lines": [{"title": l.title, "sku": l.sku, "quantity": l.quantity, "price": l.price} for l in o.lines.all()],
            }
            for o in orders
        ],
        "checkouts": [
            {"external_id": c.external_id, "total": c.total, "currency": c.currency, "status": c.status,
             "checkout_url": c.checkout_url, "started_at": c.started_at, "line_items": c.line_items}
            for c in checkouts
        ],
    }


def redact_for_profiles(erasure) -> int:
    """Erase request: shipping addresses and checkout links go; amounts and items stay for analytics."""
    store, profile_ids = erasure.store, erasure.profile_ids
    return (Order.objects.filter(store=store, profile_id__in=profile_ids).update(shipping={})
            + Checkout.objects.filter(store=store, profile_id__in=profile_ids).update(checkout_url=""))
