"""The webhook endpoint: signature, addressing, body checks, deduplication, fast answer."""
import json

import pytest
from huey.contrib.djhuey import HUEY
from huey.storage import MemoryStorage
from shopify_webhooks import SECRET, Webhooks, signed_headers
from shopify_payloads import customer_payload, order_payload

from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.profiles.models import Profile

URL = "/webhooks/shopify/acme"


def test_signed_webhook_is_stored_processed_and_answered_200(webhooks):
    response = webhooks.post("customers/create", customer_payload(), webhook_id="wh-1")
    assert response.status_code == 200, response.content
    assert response.json()["duplicate"] is False
    delivery = WebhookDelivery.objects.get()
    assert (delivery.topic, delivery.webhook_id, delivery.status, delivery.attempts) == ("customers/create", "wh-1", "processed", 1)
    assert delivery.payload["id"] == 7001
    assert Profile.objects.get().external_id == "7001"


def test_answer_does_not_wait_for_processing(webhooks, huey_immediate, monkeypatch):
    # A queue that is not run inline (kept in memory, so no shared queue file is touched):
    # the request only stores the delivery and enqueues it.
    huey_immediate.immediate = False
    monkeypatch.setattr(HUEY, "storage", MemoryStorage("shopify-endpoint-test"))
    response = webhooks.post("customers/create", customer_payload())
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and not Profile.objects.exists()
    task = HUEY.dequeue()
    assert (task.name, task.args) == ("shopify.process_webhook", (delivery.pk,))


@pytest.mark.parametrize("signature", ["bm90IHRoZSByaWdodCBzaWduYXR1cmU=", "", None])
def test_bad_or_missing_signature_is_401_and_nothing_is_stored(webhooks, signature):
    headers = {"HTTP_X_SHOPIFY_HMAC_SHA256": signature} if signature is not None else {}
    body = json.dumps(customer_payload()).encode()
    kwargs = {"HTTP_X_SHOPIFY_TOPIC": "customers/create", "HTTP_X_SHOPIFY_WEBHOOK_ID": "wh-x", **headers}
    response = webhooks.client.post(URL, body, content_type="application/json", **kwargs)
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists() and not Profile.objects.exists()


def test_signed_with_another_secret_is_401(webhooks):
    response = webhooks.post("customers/create", customer_payload(), secret="someone-elses-secret")
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_body_changed_after_signing_is_401(webhooks):

    signed = json.dumps(customer_payload()).encode()
    tampered = signed.replace(b"ann@example.com", b"eve@example.com")
    response = webhooks.client.post(URL, tampered, content_type="application/json", **signed_headers(signed, "customers/create"))
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_webhook_signed_for_another_shop_is_401(webhooks):
    # One app secret signs every shop's webhooks: the shop header must be the connected shop.
    response = webhooks.post("customers/create", customer_payload(), HTTP_X_SHOPIFY_SHOP_DOMAIN="other-shop.myshopify.com")
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_unknown_store_is_404(webhooks):
    webhooks.store_slug = "no-such-store"
    assert webhooks.post("customers/create", customer_payload()).status_code == 404
    assert not WebhookDelivery.objects.exists()


def test_store_without_shopify_connection_is_404(client, other_store):

    response = Webhooks(client, other_store.slug).post("customers/create", customer_payload())
    assert response.status_code == 404


@pytest.mark.parametrize("raw", [b'{"id": 7001, "email": ', b"\xff\xfe not utf-8", b"[1, 2, 3]", b'"text"'])
def test_malformed_or_non_object_json_is_400_and_nothing_is_stored(webhooks, raw):
    response = webhooks.post("customers/create", None, raw=raw)
    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_missing_webhook_id_is_400_naming_the_header(webhooks):
    response = webhooks.post("customers/create", customer_payload(), HTTP_X_SHOPIFY_WEBHOOK_ID="")
    assert response.status_code == 400
    assert "X-Shopify-Webhook-Id" in response.json()["detail"]
    assert not WebhookDelivery.objects.exists()


def test_unknown_topic_is_200_kept_as_ignored_and_not_processed(webhooks):
    response = webhooks.post("app/uninstalled", {"id": 1, "domain": "acme-outdoors.myshopify.com"})
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("ignored", 0)
    assert "not handled" in delivery.error


def test_duplicate_webhook_id_is_200_and_processed_once(webhooks):
    first = webhooks.post("orders/create", order_payload(), webhook_id="same-id")
    again = webhooks.post("orders/create", order_payload(total="99.00"), webhook_id="same-id")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"delivery_id": first.json()["delivery_id"], "status": "processed", "duplicate": True}
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1
    from textpilot.commerce.models import Order

    assert str(Order.objects.get().total) == "59.00"  # the duplicate's body was never applied


def test_trailing_slash_is_accepted_and_get_is_refused(webhooks):
    body = json.dumps(customer_payload()).encode()

    response = webhooks.client.post(URL + "/", body, content_type="application/json", **signed_headers(body, "customers/create"))
    assert response.status_code == 200
    assert webhooks.client.get(URL).status_code == 405


def test_oversized_body_is_413(webhooks, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = webhooks.post("customers/create", customer_payload(note="x" * 5000))
    assert response.status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_same_webhook_id_in_two_stores_is_two_deliveries(client, store, other_store, connection):

    from textpilot.integrations.shopify import connections

    connections.connect_shop(other_store, shop_domain="berlin.myshopify.com", access_token="t", webhook_secret=SECRET)
    acme = Webhooks(client, "acme").post("customers/create", customer_payload(), webhook_id="shared")
    berlin = Webhooks(client, "berlin").post(
        "customers/create", customer_payload(phone="+49 30 901820"), webhook_id="shared", HTTP_X_SHOPIFY_SHOP_DOMAIN="berlin.myshopify.com"
    )
    assert (acme.json()["duplicate"], berlin.json()["duplicate"]) == (False, False)
    assert {p.store_id: p.phone for p in Profile.objects.all()} == {store.pk: "+15035550142", other_store.pk: "+4930901820"}
