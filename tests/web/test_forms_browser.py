"""The dashboard forms' JavaScript parts in a real browser (Debian chromium through
Playwright): the storefront snippet's Copy button puts the snippet on the clipboard; a new API
key with a 100-character name is shown once, a reload creates no second key, and the name does
not widen the page on a phone; Disconnect asks first and does nothing when dismissed.
Leaves screenshots in artifacts/forms-*.png."""
import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PASSWORD = "correct-horse-battery"
SHOP = "acme-outdoors.myshopify.com"

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(transactional_db):
    from textpilot.integrations.shopify import connections
    from textpilot.stores import service as stores_service

    store = stores_service.create_store("Acme Outdoors", slug="acme", timezone="America/New_York", currency="USD", country="US")
    stores_service.ensure_user("owner@acme.test", PASSWORD, store, "owner")
    connections.connect_shop(store, shop_domain=SHOP, access_token="shpat_x", webhook_secret="shpss_x")
    return store


def _log_in(page, url):
    page.goto(url + "/login/")
    page.fill("input[name=username]", "owner@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def test_dashboard_forms_in_a_browser(live_server, shop, browser):
    from textpilot.integrations.shopify.models import ShopifyConnection
    from textpilot.stores.models import ApiKey

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _log_in(page, live_server.url)

    # Settings: the snippet is shown and its Copy button copies exactly it.
    page.goto(live_server.url + "/settings/")
    snippet = page.locator("#storefront-snippet").inner_text()
    assert snippet == f'<script src="{live_server.url}/js/textpilot.js" data-key="{shop.public_key}" async></script>'
    page.click("[data-copy-target=storefront-snippet]")
    page.wait_for_function("document.querySelector('[data-copy-target=storefront-snippet]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == snippet
    page.screenshot(path=str(ARTIFACTS / "forms-settings.png"), full_page=True)

    # API keys: a long name, shown once after the redirect; a reload makes no second key.
    page.goto(live_server.url + "/settings/api-keys/")
    page.fill("input[name=name]", "k" * 100)
    page.click("text=Create key")
    page.wait_for_url("**/settings/api-keys/new/")
    assert page.locator("#new-api-key").inner_text().startswith("tp_")
    page.reload()
    page.wait_for_url("**/settings/api-keys/")
    assert "shown only once" in page.content() and ApiKey.objects.count() == 1
    # The name wraps in its cell instead of stretching the table (1,569 px wide before).
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        cell = page.evaluate("(() => { const r = document.querySelector('td.key-name').getBoundingClientRect();"
                             " return [r.width, r.height]; })()")
        assert cell[0] < 24 * 16 + 40 and cell[1] > 40, (width, cell)  # 24rem and its padding, on several lines
        assert page.evaluate("document.querySelector('table').getBoundingClientRect().width") < 1000
    page.screenshot(path=str(ARTIFACTS / "forms-api-keys-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Shopify: Disconnect asks first; dismissed, nothing happens; accepted, the shop is gone.
    page.goto(live_server.url + "/integrations/shopify/")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("text=Disconnect shop")
    page.wait_for_timeout(300)  # a dismissed confirm submits nothing: give a wrong submit the time to show
    assert questions and questions[0].startswith(f"Disconnect {SHOP}?")
    assert ShopifyConnection.objects.filter(store=shop).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Disconnect shop")
    page.wait_for_selector("[data-connection=none]")
    assert not ShopifyConnection.objects.filter(store=shop).exists()
    assert "Customers, orders and events already imported stay." in page.content()
    page.screenshot(path=str(ARTIFACTS / "forms-shopify-disconnected.png"), full_page=True)
    assert errors == []
    context.close()
