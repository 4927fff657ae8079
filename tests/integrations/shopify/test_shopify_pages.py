"""The Shopify dashboard page: connect form, webhook health, backfill with progress polling."""
import json

import pytest
from form_errors import assert_plain, field_errors
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


def test_owner_connects_a_shop_and_secrets_are_stored_encrypted(owner_client, store, shopify_admin):
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

    assert [r["root"] for r in shopify_admin.requests] == ["shop.json"]  # the token was checked, once

    # Saving again with the secrets left empty keeps them (and checks the saved token).
    shopify_admin.api_version = "2025-04"
    owner_client.post(PAGE + "connect/", {"shop_domain": SHOP, "access_token": "", "webhook_secret": "", "api_version": "2025-04"})
    connection.refresh_from_db()
    assert (connection.api_version, connections.access_token(connection)) == ("2025-04", TOKEN)
    assert [r["root"] for r in shopify_admin.requests] == ["shop.json", "shop.json"]


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


# --- connect checks the token with Shopify ---------------------------------------------------

def connect(client, **changes):
    return client.post(PAGE + "connect/", {"shop_domain": SHOP, "access_token": TOKEN, "webhook_secret": SECRET,
                                           "api_version": "", **changes})


def test_a_token_shopify_refuses_is_not_saved(owner_client, store, shopify_admin):
    response = connect(owner_client, access_token="shpat_made_up")
    html = response.content.decode()
    assert response.status_code == 422
    errors = field_errors(html)
    assert errors == {"access_token": "Shopify refused the access token (401): copy the Admin API access token (shpat_…) of "
                                      f"the custom app installed on {SHOP}"}
    assert not ShopifyConnection.objects.exists() and "Not connected" in html


def test_a_shop_that_cannot_be_reached_is_not_saved(owner_client, store, monkeypatch):
    import socket

    from textpilot.integrations.shopify import connections

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(connections, "ADMIN_API_BASE", f"http://127.0.0.1:{port}/admin/api/{{version}}")
    response = connect(owner_client)
    assert response.status_code == 422
    assert field_errors(response.content.decode())["shop_domain"].startswith(f"{SHOP} could not be reached")
    assert not ShopifyConnection.objects.exists()


@pytest.mark.parametrize("answer, field, message", [
    ((404, {"errors": "Not Found"}), "shop_domain", f"no Shopify shop answers at {SHOP} (404)"),
    ((200, {"hello": "world"}), "shop_domain", f"{SHOP} answered, but not like a Shopify shop"),
    ((402, {"errors": "Unavailable Shop"}), "shop_domain", f"{SHOP} is frozen (402 Payment Required)"),
    ((200, {"shop": {"myshopify_domain": "someone-else.myshopify.com"}}), "access_token",
     f"this access token belongs to someone-else.myshopify.com, not to {SHOP}"),
])
def test_an_answer_that_is_not_this_shop_is_not_saved(owner_client, store, shopify_admin, answer, field, message):
    shopify_admin.rest_answer = answer
    response = connect(owner_client)
    assert response.status_code == 422
    assert field_errors(response.content.decode())[field].startswith(message)
    assert not ShopifyConnection.objects.exists()


def test_every_connect_error_is_reported_at_once_without_asking_shopify(owner_client, store, shopify_admin):
    response = connect(owner_client, shop_domain="acme.com", access_token="", webhook_secret="", api_version="latest")
    errors = field_errors(response.content.decode())
    assert response.status_code == 422
    assert errors.keys() == {"shop_domain", "access_token", "webhook_secret", "api_version"}, errors
    assert errors["shop_domain"] == "Shop domain must look like your-shop.myshopify.com"
    assert_plain(errors)
    assert shopify_admin.requests == []  # nothing worth checking yet


# --- the webhook address ---------------------------------------------------------------------

def test_the_page_says_the_webhook_address_must_be_public_https_and_warns_when_it_is_not(owner_client, store, settings):
    settings.TEXTPILOT_PUBLIC_URL = "http://127.0.0.1:8000"
    html = owner_client.get(PAGE).content.decode()
    assert "http://127.0.0.1:8000/webhooks/shopify/acme" in html
    assert 'id="webhook-address-help"' in html and "TEXTPILOT_PUBLIC_URL" in html and "public <code>https://</code>" in html
    assert 'id="webhook-address-not-public"' in html
    settings.TEXTPILOT_PUBLIC_URL = "https://sms.acme.example"
    html = owner_client.get(PAGE).content.decode()
    assert "https://sms.acme.example/webhooks/shopify/acme" in html and 'id="webhook-address-not-public"' not in html


# --- disconnect ------------------------------------------------------------------------------

def test_owner_disconnects_the_shop_and_keeps_its_data(owner_client, store, webhooks):
    from textpilot.profiles.models import Profile

    webhooks.post("customers/create", customer_payload())
    running = BackfillJob.objects.create(store=store, status="running", resources=["products"], current_resource="products")
    html = owner_client.get(PAGE).content.decode()
    assert f'action="{PAGE}disconnect/"' in html and f"data-confirm=\"Disconnect {SHOP}?" in html
    assert "Everything already imported stays" in html

    response = owner_client.post(PAGE + "disconnect/", follow=True)
    html = response.content.decode()
    assert "disconnected: its webhooks are refused from now on. Its backfill stopped." in html
    assert "Customers, orders and events already imported stay." in html and "Not connected" in html
    assert not ShopifyConnection.objects.filter(store=store).exists()
    running.refresh_from_db()
    assert (running.status, running.error) == ("failed", "stopped: the shop was disconnected")
    assert Profile.objects.filter(store=store, phone="+15035550142").exists()  # the data stays
    assert WebhookDelivery.objects.filter(store=store).count() == 1
    assert webhooks.post("customers/update", customer_payload()).status_code == 404  # webhooks refused from now on


def test_staff_cannot_disconnect(staff_client, connection):
    assert f'{PAGE}disconnect/' not in staff_client.get(PAGE).content.decode()
    assert staff_client.post(PAGE + "disconnect/").status_code == 403
    assert ShopifyConnection.objects.filter(pk=connection.pk).exists()


def test_a_backfill_stops_after_its_page_when_the_shop_is_disconnected(store, connected_to_fake, fake_admin, monkeypatch):
    """The page being written when the shop goes is rolled back with the stopped job; nothing
    after it is asked for or saved."""
    from dataclasses import replace

    from textpilot.commerce.models import Product
    from textpilot.integrations.shopify import backfill, connections, queries
    from textpilot.integrations.shopify.client import AdminClient

    monkeypatch.setitem(queries.RESOURCES, "products", replace(queries.RESOURCES["products"], page_size=2))
    fake_admin.nodes["products"] = [product_node(n) for n in range(1, 8)]

    class DisconnectingClient(AdminClient):
        pages = 0

        def execute(self, query, variables=None):
            data = super().execute(query, variables)
            if "products(" in query:
                self.pages += 1
                if self.pages == 2:  # the owner disconnects while the second page is on its way
                    connections.disconnect_shop(store)
            return data

    job = backfill.start_backfill(store, resources=["products"])
    with DisconnectingClient(fake_admin.base_url + "/graphql.json", TOKEN, sleep=fake_admin.advance, clock=fake_admin.clock) as client:
        backfill.run_backfill(job.pk, client=client)
        assert client.pages == 2
    job.refresh_from_db()
    assert (job.status, job.error, job.counts) == ("failed", "stopped: the shop was disconnected", {"products": 2})
    assert Product.objects.filter(store=store).count() == 2  # the first page only
