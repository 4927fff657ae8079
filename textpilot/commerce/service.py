"""Commerce rules: recording orders, their domain events, merge and privacy of orders.

Every order write recomputes the customer stats of the profiles it touched (`stats.refresh`,
the rule and the currency rule are in commerce/stats.py) inside the same transaction, so the
stats can never drift from the orders."""
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from textpilot.commerce import predictions, stats
from textpilot.commerce.models import Checkout, Order, OrderLine, PaymentStatus, Product
from textpilot.common import hooks
from textpilot.common import inputs
from textpilot.common.errors import FieldError, NotFound
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store


MAX_AMOUNT = Decimal(10) ** 10


def parse_money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise FieldError(f"{field} must be a decimal amount", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise FieldError(f"{field} must be zero or more", field=field)
    if amount >= MAX_AMOUNT:  # the columns hold 12 digits, 2 of them cents
        raise FieldError(f"{field} must be less than {MAX_AMOUNT:,}", field=field)
    return amount.quantize(Decimal("0.01"))


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
        "currency": _currency(currency) if currency else store.currency,
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
        stats.refresh(store, previous_profile_id, existing.profile_id)
        _announce(store, existing, created=False)
        return existing, False
    order = Order.objects.create(store=store, external_id=external_id, **values)
    OrderLine.objects.bulk_create(OrderLine(store=store, order=order, **line) for line in clean_lines)
    stats.refresh(store, order.profile_id)
    _announce(store, order, created=True)
    return order, True


def _announce(store: Store, order: Order, created: bool) -> None:
    hooks.order_recorded.fire(store.pk, [hooks.OrderRecorded(order.pk, order.profile_id, order.total, order.currency,
                                                             order.placed_at, created)])


def _currency(value: str) -> str:
    try:
        return inputs.currency_code(value)
    except inputs.InputError as exc:
        raise FieldError(exc.message, field="currency") from None


def _clean_line(store: Store, line: dict, index: int) -> dict:
    field = f"lines[{index}]"
    title = str(line.get("title") or "").strip()
    if not title:
        raise FieldError(f"{field}.title is required", field=f"{field}.title")
    try:
        quantity = inputs.bounded_int(line.get("quantity", 1), 1, inputs.MAX_QUANTITY)
    except inputs.InputError as exc:
        raise FieldError(f"{field}.quantity {exc.message}", field=f"{field}.quantity") from None
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


def abandoned_checkouts_count(store: Store) -> int:
    return Checkout.objects.filter(store=store, status=Checkout.Status.ABANDONED).count()


def recent_orders(store: Store, limit: int = 10):
    return Order.objects.filter(store=store).select_related("profile").order_by("-placed_at")[:limit]


def reassign_profile(store: Store, source_id: int, target_id: int) -> None:
    """Move orders and checkouts of one profile to another (profile merge), then recompute
    the survivor's stats; the merged profile, left without orders, loses its stats row."""
    Order.objects.filter(store=store, profile_id=source_id).update(profile_id=target_id)
    Checkout.objects.filter(store=store, profile_id=source_id).update(profile_id=target_id)
    stats.refresh(store, source_id, target_id)
    # The merged profile keeps no prediction; the survivor's is recomputed by the nightly fit.
    predictions.forget(store, [source_id])


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
        **stats.export_for_profiles(store, profile_ids),
        **predictions.export_for_profiles(store, profile_ids),
    }


def redact_for_profiles(erasure) -> int:
    """Erase request: shipping addresses and checkout links go; amounts and items stay for
    analytics. Predictions about the person go (the nightly fit writes none for an erased
    profile)."""
    store, profile_ids = erasure.store, erasure.profile_ids
    return (Order.objects.filter(store=store, profile_id__in=profile_ids).update(shipping={})
            + Checkout.objects.filter(store=store, profile_id__in=profile_ids).update(checkout_url="")
            + predictions.forget(store, profile_ids))
