"""A signed Shopify webhook announces what it recorded through the same hooks as the API."""
from shopify_payloads import customer_payload, order_payload

from textpilot.commerce.models import Order
from textpilot.profiles.models import Profile


def test_an_order_webhook_announces_the_order_and_its_events(webhooks, hook_log, store):
    with hook_log.committing():
        assert webhooks.post("orders/create", order_payload(financial_status="paid")).status_code == 200
    order = Order.objects.get()
    assert [(o.order_id, o.created) for o in hook_log.of("order_recorded")] == [(order.pk, True)]
    assert {"placed_order", "paid_order"} <= {e.name for e in hook_log.of("events_recorded")}
    assert {store_id for _, store_id, _ in hook_log} == {store.pk}


def test_a_customer_webhook_with_marketing_consent_announces_the_change(webhooks, hook_log):
    with hook_log.committing():
        assert webhooks.post("customers/create", customer_payload(sms_state="subscribed")).status_code == 200
    [change] = hook_log.of("consent_changed")
    assert (change.profile_id, change.channel, change.status) == (Profile.objects.get().pk, "sms", "subscribed")
