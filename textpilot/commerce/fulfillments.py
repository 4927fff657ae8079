"""Shipping state of orders: fulfillments (shipments) with carrier, tracking and delivery.

An order's fulfillments live in `Order.shipping["fulfillments"]`, keyed by fulfillment id;
each is replaced only by a version of itself that is not older, so shipment updates that
arrive in any order end in the same state. The order's fulfillment status follows from
them and from the status the platform reported for the whole order:
fulfilled when all ordered items shipped (or the platform says so), delivered when every
successful shipment of a fulfilled order was delivered."""
from datetime import datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime

from textpilot.commerce.models import Order
from textpilot.common.errors import FieldError, NotFound
from textpilot.stores.models import Store

FulfillmentStatus = Order.FulfillmentStatus
SUCCESS = "success"
DELIVERED = "delivered"
RANK = {FulfillmentStatus.UNFULFILLED: 0, FulfillmentStatus.PARTIAL: 1, FulfillmentStatus.FULFILLED: 2}
# What the platform may say about the whole order (Shopify's order.fulfillment_status).
PLATFORM_STATUS = {"fulfilled": FulfillmentStatus.FULFILLED, "partial": FulfillmentStatus.PARTIAL}
TRACKING_KEYS = ("carrier", "tracking_number", "tracking_url", "shipment_status")


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return value.isoformat()


def _time(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def clean_fulfillment(raw: dict) -> dict:
    """One shipment as stored: id, status, shipment_status, carrier, tracking, quantity, times."""
    if not str(raw.get("id") or "").strip():
        raise FieldError("fulfillment id is required", field="fulfillment.id")
    quantity = raw.get("quantity") or 0
    if not isinstance(quantity, int) or quantity < 0:
        raise FieldError("fulfillment quantity must be a whole number", field="fulfillment.quantity")
    return {
        "id": str(raw["id"]).strip(),
        "status": str(raw.get("status") or "").lower(),
        "shipment_status": str(raw.get("shipment_status") or "").lower(),
        "carrier": str(raw.get("carrier") or ""),
        "tracking_number": str(raw.get("tracking_number") or ""),
        "tracking_url": str(raw.get("tracking_url") or ""),
        "quantity": quantity,
        "created_at": _iso(raw.get("created_at")),
        "updated_at": _iso(raw.get("updated_at")),
    }


def _not_older(new: dict, old: dict) -> bool:
    new_at, old_at = _time(new.get("updated_at")), _time(old.get("updated_at"))
    return new_at is None or old_at is None or new_at >= old_at


def merge_fulfillments(stored: dict | None, incoming: list[dict]) -> dict:
    merged = dict(stored or {})
    for raw in incoming:
        fulfillment = clean_fulfillment(raw)
        old = merged.get(fulfillment["id"])
        if old is None or _not_older(fulfillment, old):
            merged[fulfillment["id"]] = fulfillment
    return merged


def _successful(fulfillments: dict) -> list[dict]:
    return [f for f in fulfillments.values() if f.get("status") == SUCCESS]


def fulfillment_status(platform_status: str | None, fulfillments: dict, ordered_quantity: int) -> str:
    shipped = _successful(fulfillments)
    shipped_quantity = sum(f.get("quantity") or 0 for f in shipped)
    if ordered_quantity and shipped_quantity >= ordered_quantity:
        by_items = FulfillmentStatus.FULFILLED
    else:
        by_items = FulfillmentStatus.PARTIAL if shipped else FulfillmentStatus.UNFULFILLED
    status = max(by_items, PLATFORM_STATUS.get(platform_status or "", FulfillmentStatus.UNFULFILLED), key=RANK.__getitem__)
    if status == FulfillmentStatus.FULFILLED and shipped and all(f.get("shipment_status") == DELIVERED for f in shipped):
        return FulfillmentStatus.DELIVERED
    return status


def _tracking(fulfillments: dict) -> dict:
    """Carrier and tracking of the latest successful shipment (what a shipping text shows)."""
    shipped = _successful(fulfillments)
    if not shipped:
        return {key: "" for key in TRACKING_KEYS}
    latest = max(shipped, key=lambda f: (f.get("created_at") or "", f.get("updated_at") or "", f["id"]))
    return {key: latest.get(key, "") for key in TRACKING_KEYS}


_KEEP = object()


def build_shipping(stored: dict | None, *, fulfillments: list[dict] = (), address=_KEEP, method=_KEEP, platform_status=_KEEP) -> dict:
    """The order's new `shipping`: stored values, with the given parts replaced and shipments merged."""
    shipping = dict(stored or {})
    if address is not _KEEP:
        shipping["address"] = address or {}
    if method is not _KEEP:
        shipping["method"] = method or {}
    if platform_status is not _KEEP:
        shipping["platform_fulfillment_status"] = platform_status or ""
    shipping["fulfillments"] = merge_fulfillments(shipping.get("fulfillments"), list(fulfillments))
    shipping.update(_tracking(shipping["fulfillments"]))
    return shipping


def stored_shipping(store: Store, order_external_id: str) -> dict:
    """The shipping state stored for an order ({} if the order is not known yet)."""
    shipping = Order.objects.filter(store=store, external_id=str(order_external_id)).values_list("shipping", flat=True).first()
    return shipping or {}


@transaction.atomic
def record_fulfillment(store: Store, order_external_id: str, fulfillment: dict) -> Order:
    """Add or update one shipment of a known order and move its fulfillment status."""
    order = Order.objects.select_for_update().filter(store=store, external_id=str(order_external_id)).first()
    if order is None:
        raise NotFound(f"order {order_external_id} is not known yet", field="order_id")
    order.shipping = build_shipping(order.shipping, fulfillments=[fulfillment])
    ordered = sum(order.lines.values_list("quantity", flat=True))
    order.fulfillment_status = fulfillment_status(order.shipping.get("platform_fulfillment_status"), order.shipping["fulfillments"], ordered)
    order.save(update_fields=["shipping", "fulfillment_status"])
    return order
