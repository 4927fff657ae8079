"""Shopify objects (in webhook/REST shape) -> the profiles, commerce and events services.

Every `apply_*` runs inside the caller's transaction, first claims the object's version
(versions.claim: an update older than the one applied is skipped and the function returns
False), then writes through the services. Replaying an object changes nothing: rows are
upserted by Shopify id and domain events carry idempotency keys made from Shopify ids.
The backfill converts GraphQL nodes to this same shape (queries.py), so webhooks and
backfill store the same thing: the numeric Shopify id as `external_id`."""
import logging
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.utils.dateparse import parse_datetime

from textpilot.commerce import checkouts, fulfillments, products
from textpilot.commerce import service as commerce
from textpilot.commerce.models import PaymentStatus
from textpilot.common.errors import FieldError
from textpilot.events import service as events
from textpilot.integrations.shopify import versions
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentBasis, ConsentEvent, ConsentStatus, Profile
from textpilot.common.phones import normalize_phone
from textpilot.stores.models import Store

logger = logging.getLogger("textpilot.shopify")

SOURCE = "shopify"
BACKFILL_EVENT_SOURCE = "shopify_backfill"

# Shopify financial_status -> our payment status. partially_paid still owes money (pending);
# an expired authorization took no money (voided).
PAYMENT_STATUSES = {
    "pending": PaymentStatus.PENDING,
    "partially_paid": PaymentStatus.PENDING,
    "authorized": PaymentStatus.AUTHORIZED,
    "paid": PaymentStatus.PAID,
    "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED,
    "refunded": PaymentStatus.REFUNDED,
    "voided": PaymentStatus.VOIDED,
    "expired": PaymentStatus.VOIDED,
}
# Shopify marketing consent states we record; not_subscribed, redacted and invalid say
# nothing to act on.
CONSENT_STATES = {
    "subscribed": ConsentStatus.SUBSCRIBED,
    "unsubscribed": ConsentStatus.UNSUBSCRIBED,
    "pending": ConsentStatus.PENDING,
}
NAME_LIMIT = 100


@dataclass(frozen=True)
class ShopContext:
    store: Store
    shop_domain: str = ""
    # Events from history (backfill) are marked so flows can tell them from live ones.
    event_source: str = SOURCE


def shopify_id(value) -> str:
    """123, "123" and "gid://shopify/Order/123" are all "123"."""
    if value in (None, ""):
        return ""
    text = str(value).strip()
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1].split("?", 1)[0]
    return text


def required_id(payload: dict, field: str = "id") -> str:
    value = shopify_id(payload.get(field))
    if not value:
        raise FieldError(f"{field} is required", field=field)
    return value


def parse_time(value, field: str = "updated_at") -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise FieldError(f"{field} is not an ISO 8601 time", field=field)
    if parsed.tzinfo is None:  # Shopify always sends an offset; a bare time is taken as UTC
        parsed = parsed.replace(tzinfo=dt_timezone.utc)
    return parsed.astimezone(dt_timezone.utc)


def whole_number(value, field: str, minimum: int = 0) -> int:
    """A quantity from the payload; a malformed one is a FieldError like any other bad field."""
    try:
        number = int(value if value not in (None, "") else minimum)
    except (TypeError, ValueError):
        raise FieldError(f"{field} must be a whole number", field=field) from None
    return max(minimum, number)


def identifiers(store: Store, *, external_id: str = "", email=None, phone=None) -> dict:
    """The usable identifiers of a Shopify person. A malformed email or phone is dropped
    (and logged) rather than failing the whole object: the Shopify id still identifies them."""
    found = {"external_id": external_id} if external_id else {}
    if email:
        try:
            found["email"] = profiles.clean_profile_fields(store, {"email": str(email)})["email"]
        except FieldError:
            logger.info("shopify email ignored: not an address", extra={"store": store.slug, "shopify_id": external_id})
    if phone:
        try:
            found["phone"] = normalize_phone(str(phone), default_region=store.country)
        except FieldError:
            logger.info("shopify phone ignored: not a number", extra={"store": store.slug, "shopify_id": external_id})
    return {name: value for name, value in found.items() if value}


# --- customers ------------------------------------------------------------------------

def apply_customer(ctx: ShopContext, customer: dict) -> tuple[Profile | None, bool]:
    """Find or create the customer's profile, update it and its consent unless the data is
    older than what was applied. Returns (profile or None if unidentifiable, applied)."""
    store = ctx.store
    external_id = shopify_id(customer.get("id"))
    ids = identifiers(store, external_id=external_id, email=customer.get("email"), phone=customer.get("phone"))
    if not ids:
        return None, False
    updated_at = parse_time(customer.get("updated_at"))
    if external_id and not versions.claim(store, "customer", external_id, updated_at):
        # Older than what we hold: only find the person, change nothing.
        return profiles.identify(store, source=SOURCE, external_id=external_id)[0], False
    address = customer.get("default_address") or {}
    fields = {
        "first_name": str(customer.get("first_name") or "")[:NAME_LIMIT],
        "last_name": str(customer.get("last_name") or "")[:NAME_LIMIT],
        "city": str(address.get("city") or "")[:NAME_LIMIT],
    }
    region = str(address.get("province_code") or "").upper()
    if 1 <= len(region) <= 3 and region.isalnum():  # a state's own texting law follows its address
        fields["region"] = region
    country = str(address.get("country_code") or "").upper()
    if len(country) == 2 and country.isalpha():
        fields["country"] = country
    profile, _ = profiles.identify(store, source=SOURCE, **ids, **{k: v for k, v in fields.items() if v})
    apply_consent(store, profile, ConsentEvent.Channel.SMS, customer.get("sms_marketing_consent"))
    apply_consent(store, profile, ConsentEvent.Channel.EMAIL, customer.get("email_marketing_consent"))
    return profile, True


def apply_consent(store: Store, profile: Profile, channel: str, consent) -> bool:
    """Record Shopify's consent state as evidence, only when it differs from the newest
    evidence we hold and is not older than it. Returns whether an event was recorded."""
    if not isinstance(consent, dict):
        return False
    status = CONSENT_STATES.get(str(consent.get("state") or "").lower())
    if status is None or (channel == ConsentEvent.Channel.SMS and not profile.phone):
        return False
    occurred_at = parse_time(consent.get("consent_updated_at"), "consent_updated_at")
    latest = profiles.consent_trail(store, profile).filter(channel=channel).last()
    if latest is not None and (latest.status == status or (occurred_at and occurred_at < latest.occurred_at)):
        return False
    how = ", ".join(str(part).lower() for part in (consent.get("opt_in_level"), consent.get("consent_collected_from")) if part)
    try:
        # A platform sync only reports consent: it can't lift a STOP texted to us (profiles/consent.py).
        profiles.record_consent(
            store, profile, status, SOURCE, channel=channel, occurred_at=occurred_at, basis=ConsentBasis.REPORTED,
            consent_text=f"Shopify marketing consent ({how})" if how else "Shopify marketing consent",
        )
    except profiles.ConsentRefused as refused:
        logger.info("shopify.consent_skipped", extra={"store": store.slug, "profile_id": profile.pk, "reason": str(refused)})
        return False
    return True


def buyer(ctx: ShopContext, payload: dict) -> Profile | None:
    """The person behind an order or checkout: its customer, else its contact email/phone."""
    customer = payload.get("customer")
    if isinstance(customer, dict) and customer:
        profile, _ = apply_customer(ctx, customer)
        if profile is not None:
            return profile
    ids = identifiers(ctx.store, email=payload.get("email"), phone=payload.get("phone") or payload.get("sms_marketing_phone"))
    return profiles.identify(ctx.store, source=SOURCE, **ids)[0] if ids else None


# --- orders and shipments -------------------------------------------------------------

def _order_lines(order: dict) -> list[dict]:
    lines = []
    for item in order.get("line_items") or []:
        lines.append({
            "title": str(item.get("title") or item.get("name") or "item")[:255],
            "sku": str(item.get("sku") or "")[:64],
            "quantity": whole_number(item.get("quantity"), "line_items.quantity", 1),
            "price": item.get("price") or 0,
            "product_external_id": shopify_id(item.get("product_id")) or None,
        })
    return lines


def _address(address) -> dict:
    if not isinstance(address, dict):
        return {}
    keys = ("first_name", "last_name", "company", "address1", "address2", "city", "province", "zip", "country_code", "phone")
    return {key: address[key] for key in keys if address.get(key)}


def _shipping_method(shipping_lines) -> dict:
    first = (shipping_lines or [{}])[0] or {}
    return {key: str(first[key]) for key in ("title", "code", "price") if first.get(key) not in (None, "")}


def shipment(fulfillment: dict) -> dict:
    """A Shopify fulfillment as commerce.fulfillments stores it."""
    numbers = fulfillment.get("tracking_numbers") or []
    urls = fulfillment.get("tracking_urls") or []
    return {
        "id": required_id(fulfillment),
        "status": fulfillment.get("status") or "",
        "shipment_status": fulfillment.get("shipment_status") or "",
        "carrier": fulfillment.get("tracking_company") or "",
        "tracking_number": fulfillment.get("tracking_number") or (numbers[0] if numbers else ""),
        "tracking_url": fulfillment.get("tracking_url") or (urls[0] if urls else ""),
        "quantity": sum(whole_number(item.get("quantity"), "line_items.quantity") for item in fulfillment.get("line_items") or []),
        "created_at": parse_time(fulfillment.get("created_at"), "created_at"),
        "updated_at": parse_time(fulfillment.get("updated_at")),
    }


def apply_order(ctx: ShopContext, order: dict) -> bool:
    store = ctx.store
    external_id = required_id(order)
    updated_at = parse_time(order.get("updated_at"))
    if not versions.claim(store, "order", external_id, updated_at):
        return False
    profile = buyer(ctx, order)
    lines = _order_lines(order)
    platform_status = order.get("fulfillment_status") or ""
    shipping = fulfillments.build_shipping(
        fulfillments.stored_shipping(store, external_id),
        fulfillments=[shipment(f) for f in order.get("fulfillments") or []],
        address=_address(order.get("shipping_address")),
        method=_shipping_method(order.get("shipping_lines")),
        platform_status=platform_status,
    )
    status = fulfillments.fulfillment_status(platform_status, shipping["fulfillments"], sum(line["quantity"] for line in lines))
    recorded, _ = commerce.record_order(
        store,
        external_id=external_id,
        total=order.get("current_total_price") or order.get("total_price") or 0,
        profile=profile,
        currency=order.get("currency"),
        payment_status=PAYMENT_STATUSES.get(str(order.get("financial_status") or "").lower(), PaymentStatus.PENDING),
        fulfillment_status=status,
        placed_at=parse_time(order.get("processed_at"), "processed_at") or parse_time(order.get("created_at"), "created_at"),
        cancelled_at=parse_time(order.get("cancelled_at"), "cancelled_at"),
        order_number=str(order.get("name") or order.get("order_number") or "")[:64],
        lines=lines,
        discount_codes=[str(d.get("code")) for d in order.get("discount_codes") or [] if isinstance(d, dict) and d.get("code")],
        shipping=shipping,
        source=SOURCE,
        source_updated_at=updated_at,
    )
    commerce.emit_order_events(store, recorded, source=ctx.event_source)
    if checkout_id := shopify_id(order.get("checkout_id")):
        checkouts.complete_checkout(store, checkout_id, recorded)
    return True


def apply_fulfillment(ctx: ShopContext, fulfillment: dict) -> bool:
    """A shipment of an order; raises NotFound while the order itself has not arrived."""
    order_id = required_id(fulfillment, "order_id")
    versions.lock(ctx.store, "order", order_id)
    order = fulfillments.record_fulfillment(ctx.store, order_id, shipment(fulfillment))
    commerce.emit_order_events(ctx.store, order, source=ctx.event_source)
    return True


# --- checkouts and products -----------------------------------------------------------

def apply_checkout(ctx: ShopContext, checkout: dict, *, abandoned: bool = False) -> bool:
    store = ctx.store
    external_id = required_id(checkout)
    if not versions.claim(store, "checkout", external_id, parse_time(checkout.get("updated_at"))):
        return False
    profile = buyer(ctx, checkout)
    items = [
        {"title": item.get("title") or "item", "quantity": whole_number(item.get("quantity"), "line_items.quantity", 1), "price": item.get("price") or 0,
         "sku": item.get("sku") or "", "product_id": shopify_id(item.get("product_id"))}
        for item in checkout.get("line_items") or []
    ]
    recorded, _ = checkouts.record_checkout(
        store, external_id=external_id, total=checkout.get("total_price") or 0, profile=profile,
        currency=checkout.get("currency") or checkout.get("presentment_currency"),
        checkout_url=checkout.get("abandoned_checkout_url") or "", line_items=items,
        started_at=parse_time(checkout.get("created_at"), "created_at"),
        completed_at=parse_time(checkout.get("completed_at"), "completed_at"), abandoned=abandoned,
    )
    if profile is not None:
        events.record_event(
            store, profile, "started_checkout",
            {"checkout_id": external_id, "value": str(recorded.total), "currency": recorded.currency,
             "items": [item["title"] for item in recorded.line_items[:20]], "checkout_url": recorded.checkout_url},
            occurred_at=recorded.started_at, idempotency_key=f"checkout:{external_id}:started_checkout", source=ctx.event_source,
        )
    return True


def apply_product(ctx: ShopContext, product: dict) -> bool:
    store = ctx.store
    external_id = required_id(product)
    if not versions.claim(store, "product", external_id, parse_time(product.get("updated_at"))):
        return False
    prices = [commerce.parse_money(v["price"], "variants.price") for v in product.get("variants") or [] if v.get("price") not in (None, "")]
    images = product.get("images") or []
    image = (product.get("image") or {}).get("src") or (images[0].get("src") if images else "")
    handle = product.get("handle") or ""
    url = product.get("online_store_url") or (f"https://{ctx.shop_domain}/products/{handle}" if handle and ctx.shop_domain else "")
    products.record_product(
        store, external_id=external_id, title=product.get("title") or "", handle=handle, url=url,
        image_url=image or "", price=min(prices) if prices else 0, currency=product.get("currency"),
    )
    return True
