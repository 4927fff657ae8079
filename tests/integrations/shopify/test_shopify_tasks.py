"""The Shopify background tasks, called the way the worker calls them."""
from datetime import timedelta

from django.utils import timezone
from shopify_payloads import checkout_payload, customer_payload

from textpilot.commerce import tasks as commerce_tasks
from textpilot.commerce.models import Checkout
from textpilot.integrations.shopify import tasks
from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.profiles.models import Profile


def test_deliveries_left_pending_are_picked_up_by_the_sweep(store, connection):
    # Stored while the queue was down: nothing was enqueued for them.
    lost = WebhookDelivery.objects.create(store=store, topic="customers/create", webhook_id="lost", payload=customer_payload(),
                                          received_at=timezone.now() - timedelta(hours=1))
    recent = WebhookDelivery.objects.create(store=store, topic="customers/create", webhook_id="recent",
                                            payload=customer_payload(8002, phone=None, email="bo@example.com"))
    tasks.requeue_shopify_webhooks.call_local()
    lost.refresh_from_db()
    recent.refresh_from_db()
    assert (lost.status, recent.status) == ("processed", "pending")  # a recent one may still be in the queue
    assert Profile.objects.get().external_id == "7001"


def test_idle_checkouts_are_marked_abandoned_by_the_periodic_task(store, webhooks):
    webhooks.post("checkouts/create", checkout_payload())  # started 2025-02-01, long idle
    webhooks.post("checkouts/create", checkout_payload(4242, created_at=timezone.now().isoformat()))
    assert commerce_tasks.abandon_idle_checkouts.call_local() == 1
    assert dict(Checkout.objects.values_list("external_id", "status")) == {"981820079255243537": "abandoned", "4242": "open"}
