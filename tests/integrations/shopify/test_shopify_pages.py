"""The Shopify dashboard page: connect form, webhook health, backfill with progress polling."""
import json

import pytest
from shopify_webhooks import SECRET, SHOP, TOKEN
from fake_admin_api import product_node
from shopify_payloads import customer_payload, order_payload

from textpilot.integrations.shopify.models import BackfillJob, ShopifyConnection, WebhookDelivery

PAGE = "/integrations/shopify/"


@pytest.fixture
def staff_client(client, store):
    from textpilot.stores import service

    client.force_login(service.ensure_user("staff@acme.test", "correct-horse-battery", store, "staff"))
    return client


def test_page_needs_a_login(client, store):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_owner_sees_the_connect_form_and_the_webhook_address(owner_client):
    response = owner_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not connected" in html and 'name="shop_domain"' in html
    assert "http://testserver/webhooks/shopify/acme" in html
    assert "customers/redact" in html  # the topics to subscribe


def test_owner_connects_a_shop_and_secrets_are_stored_encrypted(owner_client, store):
    response = owner_client.post(PAGE + "connect/", {
        "shop_domain": "https://Acme-Outdoors.myshopify.com/admin", "access_token": TOKEN, "webhook_secret": SECRET, "api_version": "",
    })
    assert response.status_code == 302
    connection = ShopifyConnection.objects.get(store=store)
    assert (connection.shop_domain, connection.api_version) == (SHOP, "2025-01")
    assert TOKEN not in connection.access_token_encrypted and SECRET not in connection.webhook_secret_encrypted
    from textpilot.integrations.shopify import connections

    assert (connections.access_token(connection), connections.webhook_secret(connection)) == (TOKEN, SECRET)
    html = owner_client.get(PAGE).content.decode()
    assert f"Connected to {SHOP}" in html and TOKEN not in html and SECRET not in html

    # Saving again with the secrets left empty keeps them.
    owner_client.post(PAGE + "connect/", {"shop_domain": SHOP, "access_token": "", "webhook_secret": "", "api_version": "2025-04"})
    connection.refresh_from_db()
    assert (connection.api_version, connections.access_token(connection)) == ("2025-04", TOKEN)


@pytest.mark.parametrize("data, field", [
    ({"shop_domain": "acme.com", "access_token": TOKEN, "webhook_secret": SECRET}, "shop_domain"),
    ({"shop_domain": SHOP, "access_token": "", "webhook_secret": SECRET}, "access_token"),
    ({"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": ""}, "webhook_secret"),
    ({"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": SECRET, "api_version": "latest"}, "api_version"),
])
def test_bad_connection_input_is_422_next_to_its_field_and_saves_nothing(owner_client, data, field):
    response = owner_client.post(PAGE + "connect/", data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.content.decode()
    assert not ShopifyConnection.objects.exists()


def test_a_shop_already_connected_to_another_store_is_refused(owner_client, other_store):
    from textpilot.integrations.shopify import connections

    connections.connect_shop(other_store, shop_domain=SHOP, access_token="t", webhook_secret="s")
    response = owner_client.post(PAGE + "connect/", {"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": SECRET})
    assert response.status_code == 422 and "already connected to another store" in response.content.decode()
    assert ShopifyConnection.objects.get().store == other_store


def test_staff_see_the_page_read_only(staff_client, connection):
    html = staff_client.get(PAGE).content.decode()
    assert f"Connected to {SHOP}" in html and 'name="access_token"' not in html and "Start backfill" not in html
    assert staff_client.post(PAGE + "connect/", {"shop_domain": SHOP}).status_code == 403
    assert staff_client.post(PAGE + "backfill/").status_code == 403


def test_webhook_health_lists_deliveries_and_a_failed_one_can_be_retried(owner_client, webhooks, store):
    webhooks.post("customers/create", customer_payload())
    webhooks.post("orders/create", order_payload(updated_at="not a time"))
    html = owner_client.get(PAGE).content.decode()
    failed = WebhookDelivery.objects.get(status="failed")
    assert "customers/create" in html and "orders/create" in html and "Failed" in html
    assert f"/integrations/shopify/deliveries/{failed.pk}/retry/" in html

    WebhookDelivery.objects.filter(pk=failed.pk).update(payload=order_payload())
    response = owner_client.post(f"{PAGE}deliveries/{failed.pk}/retry/")
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == "processed"


def test_retry_of_another_stores_delivery_is_404(owner_client, other_store):
    delivery = WebhookDelivery.objects.create(store=other_store, topic="orders/create", webhook_id="x", payload={}, status="failed")
    assert owner_client.post(f"{PAGE}deliveries/{delivery.pk}/retry/").status_code == 404


def test_backfill_button_runs_the_backfill_and_the_panel_shows_it(owner_client, store, connected_to_fake, fake_admin):
    fake_admin.nodes["products"] = [product_node(n) for n in range(1, 4)]
    response = owner_client.post(PAGE + "backfill/")
    assert response.status_code == 302
    job = BackfillJob.objects.get()
    assert job.status == "completed" and job.counts["products"] == 3  # the task ran inline in tests

    panel = owner_client.get(f"{PAGE}backfill/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="completed"' in panel and "hx-trigger" not in panel  # finished: polling stops
    assert 'value="100"' in panel


def test_progress_panel_polls_while_running_and_offers_resume_when_stalled(owner_client, store, connection):
    from datetime import timedelta

    from django.utils import timezone

    job = BackfillJob.objects.create(store=store, status="running", resources=["products", "orders"], current_resource="orders",
                                     counts={"products": 10, "orders": 5}, totals={"products": 10, "orders": 20},
                                     heartbeat_at=timezone.now())
    panel = owner_client.get(f"{PAGE}backfill/{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in panel and f'hx-get="/integrations/shopify/backfill/{job.pk}/"' in panel
    assert 'value="50"' in panel  # 15 of 30 rows
    assert "Resume" not in panel

    BackfillJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    panel = owner_client.get(f"{PAGE}backfill/{job.pk}/").content.decode()
    assert "Stalled" in panel and f"/integrations/shopify/backfill/{job.pk}/resume/" in panel


def test_progress_of_another_stores_backfill_is_404(owner_client, other_store):
    job = BackfillJob.objects.create(store=other_store, status="running")
    assert owner_client.get(f"{PAGE}backfill/{job.pk}/").status_code == 404


def test_data_request_export_downloads_what_we_hold(owner_client, webhooks, store):
    webhooks.post("customers/create", customer_payload())
    webhooks.post("customers/data_request", {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 7001, "email": "ann@example.com"},
                                              "orders_requested": [], "data_request": {"id": 5}})
    request = WebhookDelivery.objects.get(topic="customers/data_request")
    assert f"data-requests/{request.pk}/export/" in owner_client.get(PAGE).content.decode()
    response = owner_client.get(f"{PAGE}data-requests/{request.pk}/export/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    body = json.loads(response.content)
    assert [p["profile"]["phone"] for p in body["profiles"]] == ["+15035550142"]


def test_staff_cannot_download_data_request_exports(staff_client, webhooks):
    webhooks.post("customers/data_request", {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 7001}, "data_request": {"id": 5}})
    request = WebhookDelivery.objects.get()
    assert staff_client.get(f"{PAGE}data-requests/{request.pk}/export/").status_code == 403
