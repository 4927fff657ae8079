"""The merge tags a message can use, the data behind them, and sample values for previews.

The render context is plain data (dicts of strings) built here from a store, a profile and
per-send extras. Nothing else is ever handed to a template, so a template cannot reach a
model, a method or any Python attribute.
"""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, Mapping, NamedTuple

DEFAULT_UNSUBSCRIBE_TEXT = "Reply STOP to opt out"


class MergeTag(NamedTuple):
    path: str
    description: str
    sample: str  # a value of typical length, used to estimate segments before sending


MERGE_TAGS = {
    tag.path: tag
    for tag in (
        MergeTag("first_name", "the recipient's first name (empty when unknown: add | default: \"there\")", "Alexandra"),
        MergeTag("last_name", "the recipient's last name", "Johnson"),
        MergeTag("store.name", "the store's name", "Acme"),
        MergeTag("store.brand", "the sender name, else the store's name", "Acme"),
        MergeTag("store.url", "the store's address", "https://shop.example.com"),
        MergeTag("unsubscribe_text", "how to opt out", DEFAULT_UNSUBSCRIBE_TEXT),
        MergeTag("discount_code", "the discount code of this send", "WELCOME15"),
        MergeTag("discount_url", "a link that applies the discount", "https://shop.example.com/discount/WELCOME15"),
        MergeTag(
            "checkout_url", "the abandoned checkout's recovery link",
            "https://shop.example.com/checkouts/cn/Z2NwLXVzLWVhc3QxOjAxSjk4?key=9f8e7d6c5b4a3f2e",
        ),
        MergeTag("product.title", "the product's title", "Trail Runner Waterproof Jacket"),
        MergeTag("product.url", "the product's page", "https://shop.example.com/products/trail-runner-jacket"),
        MergeTag("order.id", "the order's id in the store platform", "5512345678901"),
        MergeTag("order.number", "the order number the customer sees", "#1042"),
        MergeTag("order.total", "the order total, 2 decimals", "129.90"),
        MergeTag("order.currency", "the order's currency", "USD"),
        MergeTag("order.shipping.carrier", "the shipping carrier", "UPS"),
        MergeTag("order.shipping.tracking_number", "the tracking number", "1Z999AA10123456784"),
        MergeTag(
            "order.shipping.tracking_url", "the carrier's tracking page",
            "https://www.ups.com/track?loc=en_US&tracknum=1Z999AA10123456784",
        ),
    )
}

_PROFILE_TAGS = ("first_name", "last_name", "store.name", "store.brand", "store.url", "unsubscribe_text")
_OFFER_TAGS = ("discount_code", "discount_url", "product.title", "product.url")
_ORDER_TAGS = tuple(path for path in MERGE_TAGS if path.startswith("order."))

# Which tags a message can use depends on what the send knows: a campaign knows the profile
# (and the offer it carries), an abandoned-checkout text also the checkout, an order or
# shipping update also the order. Templates are validated against one of these when saved.
CONTEXT_KINDS: dict[str, tuple[str, ...]] = {
    "campaign": _PROFILE_TAGS + _OFFER_TAGS,
    "checkout": _PROFILE_TAGS + _OFFER_TAGS + ("checkout_url",),
    "order": _PROFILE_TAGS + _OFFER_TAGS + _ORDER_TAGS,
    "all": tuple(MERGE_TAGS),
}

# The seed documents write tags as {FirstName}. {OrderId} is the number the customer knows
# (#1042), not the platform's internal id: that is what the seed's texts show to customers.
SEED_TAGS = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "SiteName": "store.name",
    "StoreName": "store.name",
    "ShopName": "store.name",
    "DiscountCode": "discount_code",
    "DiscountCodeUrl": "discount_url",
    "DiscountUrl": "discount_url",
    "CheckoutUrl": "checkout_url",
    "OrderId": "order.number",
    "OrderNumber": "order.number",
    "OrderTotal": "order.total",
    "TrackingUrl": "order.shipping.tracking_url",
    "TrackingNumber": "order.shipping.tracking_number",
    "Carrier": "order.shipping.carrier",
    "ProductTitle": "product.title",
    "ProductName": "product.title",
    "ProductUrl": "product.url",
    "UnsubscribeText": "unsubscribe_text",
}


@lru_cache(maxsize=None)
def allowed_paths(context_kind: str) -> frozenset[str]:
    """The tags of `context_kind` and their parents (`order`, `order.shipping`), which a
    template may test with {% if order.shipping %}."""
    paths = set()
    for path in CONTEXT_KINDS[context_kind]:
        parts = path.split(".")
        paths.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return frozenset(paths)


_TEXT_EXTRAS = ("discount_code", "discount_url", "checkout_url", "unsubscribe_text")


def build_context(store, profile=None, extra: Mapping[str, Any] | None = None) -> dict:
    """The render context for one recipient. `extra` carries what the send knows beyond the
    profile: discount_code, discount_url, checkout_url, unsubscribe_text, order (a mapping in
    the template's shape, or an Order), product (a mapping or a Product). A tag whose data the
    send does not have stays undefined, so rendering it fails that message (unless the
    template gives a `default`) instead of sending a hole."""
    context: dict[str, Any] = {
        "first_name": _text(getattr(profile, "first_name", "")),
        "last_name": _text(getattr(profile, "last_name", "")),
        "store": {
            "name": store.name,
            "brand": store.sender_name or store.name,
            "url": f"https://{store.domain}" if store.domain else "",
        },
        "unsubscribe_text": DEFAULT_UNSUBSCRIBE_TEXT,
    }
    for key, value in (extra or {}).items():
        if key in _TEXT_EXTRAS:
            context[key] = _text(value)
        elif key == "order":
            context["order"] = order_variables(value)
        elif key == "product":
            context["product"] = product_variables(value)
        else:
            raise ValueError(f"unknown merge context extra {key!r}; expected one of {', '.join((*_TEXT_EXTRAS, 'order', 'product'))}")
    return context


def order_variables(order) -> dict:
    if isinstance(order, Mapping):
        fields = dict(order)
    else:  # a commerce Order, read by attribute (messaging never queries other apps' tables)
        fields = {
            "id": order.external_id, "number": order.order_number, "total": order.total,
            "currency": order.currency, "shipping": order.shipping,
        }
    shipping = fields.get("shipping") or {}
    return {
        "id": _text(fields.get("id")),
        "number": _text(fields.get("number") or fields.get("id")),
        "total": _money(fields.get("total")),
        "currency": _text(fields.get("currency")),
        "shipping": {key: _text(shipping.get(key)) for key in ("carrier", "tracking_number", "tracking_url")},
    }


def product_variables(product) -> dict:
    get = product.get if isinstance(product, Mapping) else lambda name: getattr(product, name, "")
    return {"title": _text(get("title")), "url": _text(get("url"))}


def sample_context(store) -> dict:
    """A context with every tag set to a typical value and the store's own names, for
    estimating the length of a template before anyone receives it."""
    context = build_context(store)
    for path, tag in MERGE_TAGS.items():
        *parents, leaf = path.split(".")
        node = context
        for parent in parents:
            node = node.setdefault(parent, {})
        if not node.get(leaf):
            node[leaf] = tag.sample
    return context


def _text(value) -> str:
    return "" if value is None else str(value)


def _money(value) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):.2f}"
