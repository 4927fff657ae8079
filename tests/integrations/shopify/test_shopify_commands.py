"""`textpilot shopify_connect` and `textpilot shopify_backfill`."""
from io import StringIO

import pytest
from shopify_webhooks import SECRET, SHOP, TOKEN
from django.core.management import CommandError, call_command
from fake_admin_api import customer_node, product_node

from textpilot.integrations.shopify.models import BackfillJob, ShopifyConnection
from textpilot.integrations.shopify import connections


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_connect_stores_encrypted_secrets_and_prints_the_webhook_address(store, shopify_admin):
    output = run("shopify_connect", "acme", SHOP, "--access-token", TOKEN, "--webhook-secret", SECRET)
    connection = ShopifyConnection.objects.get(store=store)
    assert TOKEN not in connection.access_token_encrypted
    assert (connections.access_token(connection), connections.webhook_secret(connection)) == (TOKEN, SECRET)
    assert f"connected to {SHOP}" in output and "/webhooks/shopify/acme" in output and "orders/updated" in output


def test_connect_reads_secrets_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_from_env")
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRET", "secret_from_env")
    run("shopify_connect", "acme", SHOP, "--skip-check")
    connection = ShopifyConnection.objects.get()
    assert (connections.access_token(connection), connections.webhook_secret(connection)) == ("shpat_from_env", "secret_from_env")


@pytest.mark.parametrize("args, message", [
    (("nope", SHOP, "--access-token", "t", "--webhook-secret", "s"), "no store"),
    (("acme", "acme.example.com", "--access-token", "t", "--webhook-secret", "s"), "shop_domain"),
    (("acme", SHOP, "--webhook-secret", "s"), "access_token"),
])
def test_connect_refuses_bad_input(store, monkeypatch, args, message):
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("SHOPIFY_WEBHOOK_SECRET", raising=False)
    with pytest.raises(CommandError, match=message):
        run("shopify_connect", *args)
    assert not ShopifyConnection.objects.exists()


def test_connect_checks_the_token_with_shopify_first(store, shopify_admin):
    with pytest.raises(CommandError, match="access_token: Shopify refused the access token"):
        run("shopify_connect", "acme", SHOP, "--access-token", "shpat_wrong", "--webhook-secret", SECRET)
    assert not ShopifyConnection.objects.exists()
    assert [r["root"] for r in shopify_admin.requests] == ["shop.json"]


def test_backfill_command_runs_and_resumes(store, connected_to_fake, fake_admin, monkeypatch):
    monkeypatch.setattr("textpilot.integrations.shopify.client.time.sleep", fake_admin.advance)  # retry backoff without waiting
    fake_admin.nodes["products"] = [product_node(n) for n in range(1, 4)]
    fake_admin.nodes["customers"] = [customer_node(n) for n in range(1, 3)]
    fake_admin.fail_after_pages = 1  # products load, then customers keep failing
    with pytest.raises(CommandError, match="--resume"):
        call_command("shopify_backfill", "acme", "--resources", "products", "customers", stdout=StringIO())
    job = BackfillJob.objects.get()
    assert (job.status, job.counts) == ("failed", {"products": 3})

    fake_admin.fail_after_pages = None
    output = run("shopify_backfill", "acme", "--resume")
    job.refresh_from_db()
    assert job.status == "completed" and job.counts == {"products": 3, "customers": 2}
    assert "products: 3 of 3" in output and "customers: 2 of 2" in output and f"backfill {job.pk} completed" in output


def test_backfill_command_without_a_connection_says_so(store):
    with pytest.raises(CommandError, match="connect a Shopify shop first"):
        run("shopify_backfill", "acme")
