"""Shopify's mandatory privacy webhooks.

- customers/data_request: a customer asked the shop for their data. We find their profiles
  and build the export (profiles.service.export_profile) to prove we can; the delivery row is
  the record of the request, and the owner downloads the export from the Shopify page.
- customers/redact: erase the customer (profiles.service.erase_profile); the request's own
  payload is reduced to the Shopify ids, so no copy of the person stays with it.
- shop/redact (48 h after the shop uninstalled the app): erase every profile that holds data
  from this shop, and drop the stored webhook payloads and object versions of the shop."""
import json
import logging

from django.db.models import Q

from textpilot.common.errors import NotFound
from textpilot.common.privacy import Erasure
from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.integrations.shopify import versions
from textpilot.integrations.shopify.mapping import ShopContext, identifiers, shopify_id
from textpilot.profiles import privacy as profile_privacy
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store

logger = logging.getLogger("textpilot.shopify")


def matching_profiles(store: Store, customer: dict) -> list[Profile]:
    """Live profiles holding any of the Shopify customer's identifiers (never creates one)."""
    ids = identifiers(store, external_id=shopify_id(customer.get("id")), email=customer.get("email"), phone=customer.get("phone"))
    if not ids:
        return []
    match = Q()
    for name, value in ids.items():
        match |= Q(**{name: value})
    return list(profiles.live_profiles(store).filter(match).order_by("pk"))


def shop_profiles(store: Store):
    """Profiles that hold data from the shop: made from it, linked to a Shopify customer id,
    or owning a Shopify order."""
    return (
        profiles.live_profiles(store)
        .filter(Q(source__startswith="shopify") | Q(external_id__isnull=False) | Q(orders__source__startswith="shopify"))
        .distinct()
    )


def build_exports(store: Store, customer: dict) -> list[dict]:
    return [profile_privacy.export_profile(store, profile) for profile in matching_profiles(store, customer)]


def data_request(ctx: ShopContext, payload: dict) -> bool:
    exports = build_exports(ctx.store, payload.get("customer") or {})
    logger.info(
        "shopify data request received",
        extra={
            "store": ctx.store.slug, "shopify_customer_id": shopify_id((payload.get("customer") or {}).get("id")),
            "data_request_id": (payload.get("data_request") or {}).get("id"), "profiles": len(exports),
            "orders": sum(len(export.get("orders", [])) for export in exports),
        },
    )
    return True


def redact_customer(ctx: ShopContext, payload: dict, delivery_id: int | None = None) -> bool:
    customer = payload.get("customer") or {}
    people = matching_profiles(ctx.store, customer)
    for profile in people:
        profile_privacy.erase_profile(ctx.store, profile)
    if delivery_id is not None:
        kept = {"redacted": True, "customer": {"id": customer.get("id")}, "orders_to_redact": payload.get("orders_to_redact") or []}
        WebhookDelivery.objects.filter(store=ctx.store, pk=delivery_id).update(payload=kept)
    logger.info("shopify customer redacted", extra={"store": ctx.store.slug, "shopify_customer_id": shopify_id(customer.get("id")), "profiles": len(people)})
    return True


def redact_shop(ctx: ShopContext, payload: dict, delivery_id: int | None = None) -> bool:
    store = ctx.store
    # Payloads first: erase_profile scans the stored payloads for each person otherwise.
    WebhookDelivery.objects.filter(store=store, source="shopify").exclude(pk=delivery_id).delete()
    versions.forget(store)
    # Ids first: erasing changes the very columns the selection filters on.
    ids = list(shop_profiles(store).values_list("pk", flat=True))
    for profile_id in ids:
        profile_privacy.erase_profile(store, profiles.get_profile(store, profile_id))
    logger.info("shopify shop redacted", extra={"store": store.slug, "profiles": len(ids)})
    return True


def export_for_request(store: Store, delivery_id: int) -> list[dict]:
    """The export for a stored customers/data_request, built from what we hold now."""
    delivery = WebhookDelivery.objects.filter(store=store, source="shopify", topic="customers/data_request", pk=delivery_id).first()
    if delivery is None:
        raise NotFound("no such data request in this store", field="delivery_id")
    return build_exports(store, delivery.payload.get("customer") or {})


# --- the registry's handlers (common.privacy; registered in ShopifyConfig.ready) --------------

def erase_stored_webhooks(erasure: Erasure) -> int:
    """Stored webhook payloads that mention the person are replaced by a stub; the newest-
    version rows of their Shopify customer record are forgotten."""
    redacted = 0
    for delivery in WebhookDelivery.objects.filter(store=erasure.store).iterator(chunk_size=500):
        if erasure.mentions(json.dumps(delivery.payload, default=str)):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(payload={"redacted": True, "topic": delivery.topic})
            redacted += 1
    versions.forget_objects(erasure.store, "customer", erasure.needles)
    return redacted
