"""Fixtures of the Shopify connector tests: a connected store, a webhook poster, and the fake
Admin GraphQL server. (Helpers live in shopify_webhooks.py / shopify_payloads.py: test
modules import those, never this file, whose module name other test folders share.)"""
import pytest
from fake_admin_api import FakeShopifyAdmin
from shopify_webhooks import SECRET, SHOP, TOKEN, Webhooks


@pytest.fixture
def connection(store):
    from textpilot.integrations.shopify import connections

    return connections.connect_shop(store, shop_domain=SHOP, access_token=TOKEN, webhook_secret=SECRET)


@pytest.fixture
def fake_admin():
    fake = FakeShopifyAdmin(access_token=TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def connected_to_fake(store, fake_admin):
    from textpilot.integrations.shopify import connections

    return connections.connect_shop(store, shop_domain=SHOP, access_token=TOKEN, webhook_secret=SECRET, api_base_url=fake_admin.base_url)


@pytest.fixture
def webhooks(client, connection):
    return Webhooks(client)


@pytest.fixture
def shopify_admin(fake_admin, monkeypatch):
    """Every shop's Admin API is the fake: what the dashboard's Connect checks the token with."""
    from textpilot.integrations.shopify import connections

    host, port = fake_admin._server.server_address[:2]
    monkeypatch.setattr(connections, "ADMIN_API_BASE", f"http://{host}:{port}/admin/api/{{version}}")
    return fake_admin
