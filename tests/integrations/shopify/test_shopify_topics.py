"""What each webhook topic does to profiles, consent, orders, shipments, checkouts and products."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from shopify_webhooks import SECRET, Webhooks
from shopify_payloads import checkout_payload, customer_payload, fulfillment_payload, order_payload, product_payload

from textpilot.commerce import stats
from textpilot.commerce.models import Checkout, Order, Product
from textpilot.common.errors import NotFound
from textpilot.events.models import Event
from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.profiles.models import ConsentEvent, Profile

ORDER_ID = 820982911946154508


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def spent(profile):
    row = stats.for_profile(profile.store, profile.pk)
    return row.orders_count, row.total_spent


def event_names(profile=None):
    events = Event.objects.all() if profile is None else Event.objects.filter(profile=profile)
    return sorted(events.values_list("name", flat=True))


# --- customers and consent --------------------------------------------------------------

def test_customer_becomes_a_profile_with_phone_in_e164_and_sms_consent(webhooks):
    webhooks.post("customers/create", customer_payload())
    profile = Profile.objects.get()
    assert (profile.external_id, profile.phone, profile.email) == ("7001", "+15035550142", "ann@example.com")
    assert (profile.first_name, profile.last_name, profile.city, profile.country, profile.source) == ("Ann", "Lee", "Portland", "US", "shopify")
    consent = ConsentEvent.objects.get()
    assert (consent.channel, consent.status, consent.source, consent.phone) == ("sms", "subscribed", "shopify", "+15035550142")
    assert consent.occurred_at == utc("2025-02-01T09:59:00-05:00")  # Shopify's own consent time
    assert "single_opt_in" in consent.consent_text
    assert (profile.sms_status, profile.sms_status_at) == ("subscribed", consent.occurred_at)


def test_consent_is_recorded_only_when_it_changes(webhooks):
    webhooks.post("customers/create", customer_payload())
    webhooks.post("customers/update", customer_payload(updated_at="2025-02-05T10:00:00-05:00", first_name="Annie"))
    assert ConsentEvent.objects.count() == 1
    assert Profile.objects.get().first_name == "Annie"

    webhooks.post("customers/update", customer_payload(updated_at="2025-02-06T10:00:00-05:00", sms_state="unsubscribed",
                                                       sms_at="2025-02-06T09:00:00-05:00"))
    assert list(ConsentEvent.objects.values_list("status", flat=True)) == ["subscribed", "unsubscribed"]
    assert Profile.objects.get().sms_status == "unsubscribed"


def test_consent_older_than_the_newest_evidence_is_not_recorded(webhooks, store):
    from textpilot.profiles import service as profiles

    webhooks.post("customers/create", customer_payload(sms_state=None))
    profile = Profile.objects.get()
    # The person texted STOP after Shopify's (older) opt-in.
    profiles.record_consent(store, profile, "unsubscribed", "inbound_stop", occurred_at=utc("2025-02-01T12:00:00-05:00"))
    webhooks.post("customers/update", customer_payload(updated_at="2025-02-02T10:00:00-05:00", sms_at="2025-02-01T09:59:00-05:00"))
    assert list(ConsentEvent.objects.values_list("source", "status")) == [("inbound_stop", "unsubscribed")]
    assert Profile.objects.get().sms_status == "unsubscribed"


def test_older_customer_update_never_overwrites_a_newer_one(webhooks):
    webhooks.post("customers/update", customer_payload(updated_at="2025-03-01T10:00:00Z", first_name="New", email="new@example.com"))
    webhooks.post("customers/update", customer_payload(updated_at="2025-02-01T10:00:00Z", first_name="Old", email="old@example.com"))
    profile = Profile.objects.get()
    assert (profile.first_name, profile.email) == ("New", "new@example.com")
    assert list(WebhookDelivery.objects.order_by("pk").values_list("status", flat=True)) == ["processed", "ignored"]


def test_customer_with_an_unusable_phone_still_becomes_a_profile(webhooks):
    webhooks.post("customers/create", customer_payload(phone="12345"))
    profile = Profile.objects.get()
    assert (profile.phone, profile.email, profile.external_id) == (None, "ann@example.com", "7001")
    assert not ConsentEvent.objects.filter(channel="sms").exists()


def test_customer_matching_an_existing_subscriber_merges_into_one_profile(webhooks, store):
    from textpilot.profiles import service as profiles

    popup = profiles.create_profile(store, phone="+15035550142", source="popup")
    webhooks.post("customers/create", customer_payload())
    assert Profile.objects.filter(merged_into__isnull=True).count() == 1
    merged = Profile.objects.get(pk=popup.pk)
    assert (merged.external_id, merged.email, merged.source) == ("7001", "ann@example.com", "popup")


# --- orders -----------------------------------------------------------------------------

def test_order_is_recorded_with_lines_discounts_shipping_rollups_and_event(webhooks):
    response = webhooks.post("orders/create", order_payload())
    assert response.status_code == 200
    order = Order.objects.get()
    assert (order.external_id, order.order_number, order.total, order.currency) == (str(ORDER_ID), "#1001", Decimal("59.00"), "USD")
    assert (order.payment_status, order.fulfillment_status, order.source) == ("pending", "unfulfilled", "shopify")
    assert order.placed_at == utc("2025-02-02T09:00:00-05:00")
    assert order.source_updated_at == utc("2025-02-02T10:00:00-05:00")
    assert order.discount_codes == ["SPRING10"]
    assert [(line.title, line.quantity, line.price, line.sku) for line in order.lines.order_by("pk")] == [
        ("Trail Mug", 2, Decimal("18.00"), "MUG-1"), ("Camp Spoon", 1, Decimal("18.00"), "SPN-1")
    ]
    assert order.shipping["address"]["city"] == "Portland" and order.shipping["method"]["title"] == "Standard"
    profile = order.profile
    assert (profile.external_id, *spent(profile)) == ("7001", 1, Decimal("59.00"))
    assert event_names(profile) == ["placed_order"]
    placed = Event.objects.get()
    assert (placed.idempotency_key, placed.source, placed.properties["order_id"]) == (f"order:{ORDER_ID}:placed_order", "shopify", str(ORDER_ID))


def test_orders_count_in_shop_money_and_another_shop_currency_is_reported(webhooks):
    """Shopify converts at checkout: `currency`/`current_total_price` are the shop's money
    whatever the buyer paid in (presentment), so a euro buyer at a dollar shop counts in
    dollars. An order in a currency that is not the store's (the shop's currency differs from
    the store setting) is kept as it came and left out of the sums, reported instead."""
    presented = {"presentment_currency": "EUR", "current_total_price_set": {
        "shop_money": {"amount": "59.00", "currency_code": "USD"}, "presentment_money": {"amount": "54.20", "currency_code": "EUR"}}}
    webhooks.post("orders/create", order_payload(financial_status="paid", **presented))
    webhooks.post("orders/create", order_payload(order_id=5555, financial_status="paid", currency="CAD", total="80.00"))
    profile = Order.objects.get(external_id=str(ORDER_ID)).profile
    assert (Order.objects.get(external_id="5555").total, Order.objects.get(external_id="5555").currency) == (Decimal("80.00"), "CAD")
    assert spent(profile) == (1, Decimal("59.00"))
    assert stats.for_profile(profile.store, profile.pk).other_currency_orders == 1


def test_order_line_links_to_a_known_product(webhooks):
    webhooks.post("products/create", product_payload())
    webhooks.post("orders/create", order_payload())
    mug = Order.objects.get().lines.get(sku="MUG-1")
    assert mug.product == Product.objects.get(external_id="632910392")


def test_paid_and_cancelled_orders_emit_events_and_move_rollups(webhooks):
    webhooks.post("orders/create", order_payload())
    webhooks.post("orders/paid", order_payload(updated_at="2025-02-02T11:00:00-05:00", financial_status="paid"))
    profile = Profile.objects.get()
    assert Order.objects.get().payment_status == "paid"
    assert event_names(profile) == ["paid_order", "placed_order"]

    webhooks.post("orders/cancelled", order_payload(updated_at="2025-02-04T11:00:00-05:00", financial_status="refunded",
                                                   cancelled_at="2025-02-04T10:59:00-05:00"))
    order = Order.objects.get()
    assert (order.payment_status, order.cancelled_at) == ("refunded", utc("2025-02-04T10:59:00-05:00"))
    assert spent(profile) == (0, Decimal("0"))
    assert event_names(profile) == ["cancelled_order", "paid_order", "placed_order"]


def test_replayed_and_reordered_order_updates_end_in_the_newest_state(webhooks):
    newest = order_payload(updated_at="2025-02-02T12:00:00-05:00", financial_status="paid", total="59.00")
    older = order_payload(updated_at="2025-02-02T10:00:00-05:00", financial_status="pending", total="80.00")
    webhooks.post("orders/updated", newest)
    webhooks.post("orders/updated", older)  # arrives late
    webhooks.post("orders/create", older)  # and the create last of all
    webhooks.post("orders/updated", newest, webhook_id="a-retry-with-a-new-id")
    order = Order.objects.get()
    assert (order.payment_status, order.total, order.source_updated_at) == ("paid", Decimal("59.00"), utc("2025-02-02T12:00:00-05:00"))
    assert spent(Profile.objects.get()) == (1, Decimal("59.00"))
    assert event_names() == ["paid_order", "placed_order"]
    statuses = list(WebhookDelivery.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["processed", "ignored", "ignored", "processed"]


def test_guest_order_uses_the_contact_email(webhooks):
    webhooks.post("orders/create", order_payload(customer_id=None))
    order = Order.objects.get()
    assert order.profile.email == "ann@example.com" and order.profile.external_id is None


# --- shipments --------------------------------------------------------------------------

def test_fulfillment_stores_tracking_and_emits_fulfilled_then_delivered(webhooks):
    webhooks.post("orders/create", order_payload(financial_status="paid"))
    webhooks.post("fulfillments/create", fulfillment_payload())
    order = Order.objects.get()
    assert order.fulfillment_status == "fulfilled"
    assert (order.shipping["carrier"], order.shipping["tracking_number"], order.shipping["tracking_url"]) == (
        "UPS", "1Z2345", "https://www.ups.com/track?tracknum=1Z2345"
    )
    assert order.shipping["address"]["city"] == "Portland"  # the shipment kept the order's address
    assert "delivered_order" not in event_names()

    webhooks.post("fulfillments/update", fulfillment_payload(shipment_status="delivered", updated_at="2025-02-05T10:00:00-05:00"))
    order.refresh_from_db()
    assert (order.fulfillment_status, order.shipping["shipment_status"]) == ("delivered", "delivered")
    assert event_names() == ["delivered_order", "fulfilled_order", "paid_order", "placed_order"]
    delivered = Event.objects.get(name="delivered_order")
    assert delivered.idempotency_key == f"order:{ORDER_ID}:delivered_order"


def test_partial_shipment_is_partial_and_an_older_shipment_update_is_ignored(webhooks):
    webhooks.post("orders/create", order_payload())
    webhooks.post("fulfillments/update", fulfillment_payload(quantity=1, shipment_status="in_transit", updated_at="2025-02-04T10:00:00-05:00"))
    webhooks.post("fulfillments/create", fulfillment_payload(quantity=1, shipment_status=None, updated_at="2025-02-03T10:00:00-05:00"))
    order = Order.objects.get()
    assert (order.fulfillment_status, order.shipping["shipment_status"]) == ("partial", "in_transit")


def test_shipment_before_its_order_waits_for_the_order(webhooks):
    early = webhooks.post("fulfillments/create", fulfillment_payload(shipment_status="delivered"))
    assert early.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and f"order {ORDER_ID} is not known yet" in delivery.error

    webhooks.post("orders/create", order_payload(financial_status="paid"))
    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert Order.objects.get().fulfillment_status == "delivered"
    assert "delivered_order" in event_names()


def test_order_update_keeps_shipments_that_arrived_separately(webhooks):
    webhooks.post("orders/create", order_payload())
    webhooks.post("fulfillments/update", fulfillment_payload(shipment_status="delivered", updated_at="2025-02-05T10:00:00-05:00"))
    # A later orders/updated can list an older copy of the shipment (before the carrier's news).
    stale_copy = fulfillment_payload(shipment_status=None, updated_at="2025-02-03T10:00:00-05:00")
    webhooks.post("orders/updated", order_payload(updated_at="2025-02-06T10:00:00-05:00", fulfillment_status="fulfilled", fulfillments=[stale_copy]))
    assert Order.objects.get().fulfillment_status == "delivered"


# --- checkouts --------------------------------------------------------------------------

def test_checkout_is_recorded_with_its_recovery_url_and_started_checkout_event(webhooks):
    webhooks.post("checkouts/create", checkout_payload())
    checkout = Checkout.objects.get()
    assert (checkout.external_id, checkout.status, checkout.total) == ("981820079255243537", "open", Decimal("36.00"))
    assert checkout.checkout_url.endswith("/checkouts/981820079255243537/recover?key=abc")
    assert checkout.line_items[0]["title"] == "Trail Mug" and checkout.profile.external_id == "7001"
    started = Event.objects.get()
    assert (started.name, started.idempotency_key) == ("started_checkout", "checkout:981820079255243537:started_checkout")
    assert started.occurred_at == utc("2025-02-01T11:30:00-05:00")
    webhooks.post("checkouts/update", checkout_payload(updated_at="2025-02-01T12:30:00-05:00"))
    assert Event.objects.count() == 1


def test_idle_checkout_becomes_abandoned_and_its_order_recovers_it(webhooks, store):
    from textpilot.commerce import checkouts

    webhooks.post("checkouts/create", checkout_payload())
    assert checkouts.abandon_idle_checkouts(store, now=utc("2025-02-01T13:00:00-05:00")) == 1
    assert Checkout.objects.get().status == "abandoned"
    webhooks.post("orders/create", order_payload(checkout_id=981820079255243537))
    checkout = Checkout.objects.get()
    assert (checkout.status, checkout.order) == ("recovered", Order.objects.get())
    # A late checkout update never reopens it.
    webhooks.post("checkouts/update", checkout_payload(updated_at="2025-02-01T12:45:00-05:00"))
    assert Checkout.objects.get().status == "recovered"


def test_order_before_its_checkout_completes_the_checkout_that_arrives_later(webhooks):
    webhooks.post("orders/create", order_payload(checkout_id=981820079255243537))
    webhooks.post("checkouts/create", checkout_payload())
    checkout = Checkout.objects.get()
    assert (checkout.status, checkout.order.external_id) == ("completed", str(ORDER_ID))
    assert checkout.checkout_url.endswith("recover?key=abc")


# --- products ---------------------------------------------------------------------------

def test_product_is_recorded_with_lowest_price_image_and_url(webhooks):
    webhooks.post("products/create", product_payload())
    product = Product.objects.get()
    assert (product.external_id, product.title, product.price, product.currency) == ("632910392", "Trail Mug", Decimal("16.50"), "USD")
    assert product.url == "https://acme-outdoors.myshopify.com/products/trail-mug"
    assert product.image_url == "https://cdn.shopify.com/s/files/mug.jpg"
    webhooks.post("products/update", product_payload(title="Old title", updated_at="2025-01-10T10:00:00-05:00"))
    webhooks.post("products/update", product_payload(title="Trail Mug XL", updated_at="2025-01-21T10:00:00-05:00"))
    assert Product.objects.get().title == "Trail Mug XL"


# --- failures ---------------------------------------------------------------------------

def test_failed_delivery_keeps_its_error_and_can_be_retried(webhooks, store):
    from textpilot.integrations.shopify import processing

    webhooks.post("orders/create", order_payload(updated_at="yesterday"))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "updated_at is not an ISO 8601 time" in delivery.error
    assert not Order.objects.exists() and not Profile.objects.exists()  # nothing half-written

    WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=order_payload())  # say the bug was fixed
    processing.retry_delivery(store, delivery.pk)
    processing.process_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == ("processed", "")
    assert delivery.attempts >= 2
    assert Order.objects.count() == 1


def test_a_bad_payload_fails_without_retries_and_a_missing_order_retries(store, connection):
    from textpilot.integrations.shopify import processing

    bad = WebhookDelivery.objects.create(store=store, topic="orders/create", webhook_id="bad", payload=order_payload(line_items=[{"title": "x", "quantity": "many"}]))
    assert processing.process_delivery(bad.pk) == "failed"  # returned: the queue will not retry it
    bad.refresh_from_db()
    assert "line_items.quantity must be a whole number" in bad.error

    early = WebhookDelivery.objects.create(store=store, topic="fulfillments/create", webhook_id="early", payload=fulfillment_payload())
    with pytest.raises(NotFound):  # raised: the queue retries until the order is there
        processing.process_delivery(early.pk)
    early.refresh_from_db()
    assert (early.status, early.attempts) == ("failed", 1)


def test_one_store_never_touches_another(client, store, other_store, webhooks):

    from textpilot.integrations.shopify import connections

    connections.connect_shop(other_store, shop_domain="berlin.myshopify.com", access_token="t", webhook_secret=SECRET)
    webhooks.post("orders/create", order_payload(updated_at="2025-02-02T12:00:00Z"))
    Webhooks(client, "berlin").post("orders/create", order_payload(updated_at="2025-02-01T12:00:00Z", total="10.00"),
                                    HTTP_X_SHOPIFY_SHOP_DOMAIN="berlin.myshopify.com")
    # The same Shopify id in two stores: two orders, and berlin's older timestamp is not "stale" against acme's.
    assert {o.store_id: o.total for o in Order.objects.all()} == {store.pk: Decimal("59.00"), other_store.pk: Decimal("10.00")}
    assert WebhookDelivery.objects.filter(status="processed").count() == 2


def test_consent_without_a_time_never_lifts_a_stop_texted_to_the_store(webhooks, store):
    """Defect: `consent_updated_at: null` used to become "now" and re-subscribe someone who texted STOP."""
    from textpilot.profiles import service as profiles
    from textpilot.profiles.models import ConsentBasis

    webhooks.post("customers/create", customer_payload())
    profile = Profile.objects.get()
    profiles.record_consent(store, profile, "unsubscribed", "inbound_keyword", keyword="STOP", basis=ConsentBasis.OBSERVED)
    webhooks.post("customers/update", customer_payload(updated_at="2030-02-02T10:00:00-05:00", sms_at=None))
    profile.refresh_from_db()
    assert profile.sms_status == "unsubscribed"
    assert list(ConsentEvent.objects.order_by("id").values_list("source", "status")) == [
        ("shopify", "subscribed"), ("inbound_keyword", "unsubscribed")]
    assert WebhookDelivery.objects.filter(topic="customers/update").get().status == "processed"


def test_customer_address_state_becomes_the_profile_region(webhooks):
    webhooks.post("customers/create", customer_payload(default_address={"city": "Austin", "country_code": "US", "province_code": "TX"}))
    assert Profile.objects.get().region == "TX"
