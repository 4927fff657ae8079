"""Shopify's mandatory privacy topics: customers/data_request, customers/redact, shop/redact."""
from shopify_payloads import checkout_payload, customer_payload, order_payload

from textpilot.commerce.models import Checkout, Order
from textpilot.integrations.shopify.models import ShopifyObjectVersion, WebhookDelivery
from textpilot.profiles.models import ConsentEvent, Profile

CUSTOMER = {"id": 7001, "email": "ann@example.com", "phone": "+15035550142"}


def shop_with_ann(webhooks):
    webhooks.post("customers/create", customer_payload())
    webhooks.post("orders/create", order_payload(financial_status="paid"))
    webhooks.post("checkouts/create", checkout_payload())


def test_customer_redact_erases_the_person_and_every_stored_copy(webhooks, store):
    shop_with_ann(webhooks)
    response = webhooks.post("customers/redact", {
        "shop_id": 954889, "shop_domain": "acme-outdoors.myshopify.com", "customer": CUSTOMER, "orders_to_redact": [820982911946154508],
    })
    assert response.status_code == 200
    profile = Profile.objects.get()
    assert (profile.phone, profile.email, profile.external_id, profile.first_name) == (None, None, None, "")
    assert profile.erased_at is not None

    # Orders stay as anonymous figures; the address and recovery link go.
    order = Order.objects.get()
    assert order.total and order.shipping == {}
    assert Checkout.objects.get().checkout_url == ""
    # The consent evidence stays, with the number replaced by a keyed hash.
    consent, erased = ConsentEvent.objects.order_by("id")
    assert consent.status == "subscribed" and consent.phone.startswith("hmac:")
    assert (erased.status, erased.source, erased.phone) == ("unsubscribed", "privacy_erase", consent.phone)

    # No stored webhook payload still names the person, the redact request included.
    redact = WebhookDelivery.objects.get(topic="customers/redact")
    assert redact.status == "processed"
    assert redact.payload == {"redacted": True, "customer": {"id": 7001}, "orders_to_redact": [820982911946154508]}
    for delivery in WebhookDelivery.objects.all():
        text = str(delivery.payload)
        assert "ann@example.com" not in text and "555-0142" not in text and "5035550142" not in text


def test_customer_redact_for_someone_we_never_had_changes_nothing(webhooks):
    shop_with_ann(webhooks)
    webhooks.post("customers/redact", {"shop_id": 1, "shop_domain": "acme-outdoors.myshopify.com",
                                        "customer": {"id": 999, "email": "bob@example.com", "phone": None}, "orders_to_redact": []})
    assert WebhookDelivery.objects.get(topic="customers/redact").status == "processed"
    assert Profile.objects.get().email == "ann@example.com"


def test_data_request_is_recorded_and_builds_the_export(webhooks, store):
    from textpilot.integrations.shopify import privacy

    shop_with_ann(webhooks)
    webhooks.post("customers/data_request", {
        "shop_id": 954889, "shop_domain": "acme-outdoors.myshopify.com", "orders_requested": [820982911946154508],
        "customer": CUSTOMER, "data_request": {"id": 9999},
    })
    request = WebhookDelivery.objects.get(topic="customers/data_request")
    assert request.status == "processed"
    [export] = privacy.export_for_request(store, request.pk)
    assert export["profile"]["email"] == "ann@example.com"
    assert [o["external_id"] for o in export["orders"]] == ["820982911946154508"]
    assert [c["status"] for c in export["consent"]] == ["subscribed"]
    assert Profile.objects.get().email == "ann@example.com"  # asking for data erases nothing


def test_shop_redact_erases_everyone_from_the_shop_and_its_stored_webhooks(webhooks, store):
    from textpilot.profiles import service as profiles

    shop_with_ann(webhooks)
    popup_only = profiles.create_profile(store, phone="+15035550199", source="popup")
    webhooks.post("shop/redact", {"shop_id": 954889, "shop_domain": "acme-outdoors.myshopify.com"})

    ann = Profile.objects.get(pk=Order.objects.get().profile_id)
    assert (ann.email, ann.phone, ann.erased_at is not None) == (None, None, True)
    popup_only.refresh_from_db()
    assert (popup_only.phone, popup_only.erased_at) == ("+15035550199", None)  # never came from the shop
    assert list(WebhookDelivery.objects.values_list("topic", "status")) == [("shop/redact", "processed")]
    assert not ShopifyObjectVersion.objects.filter(store=store).exists()
