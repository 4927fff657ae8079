"""The dashboard in a real browser (Debian chromium through Playwright, never `playwright install`):
log in through the form, see the home cards and the chart, search profiles, open one.
Leaves full-page screenshots in artifacts/ for a human to look at."""
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# itself (fixtures, assertions) would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"  # the `browser` fixture (tests/conftest.py) launches it
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PASSWORD = "correct-horse-battery"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
]


@pytest.fixture
def demo_store(transactional_db, shop):
    from textpilot.stores import service as stores_service

    store = stores_service.create_store("Acme Outdoors", slug="acme", timezone="America/New_York", currency="USD", country="US")
    other = stores_service.create_store("Berlin Boutique", slug="berlin", timezone="Europe/Berlin", currency="EUR", country="DE")
    stores_service.ensure_user("owner@acme.test", PASSWORD, store, "owner")
    now = timezone.now()
    people = [("Ava", "Davis"), ("Liam", "Smith"), ("Mia", "Garcia"), ("Noah", "Brown"), ("Emma", "Lopez"), ("Oliver", "Miller")]
    for i, (first, last) in enumerate(people):
        profile = shop.customer(store, f"+1415555{1000 + i:04d}", first_name=first, last_name=last,
                                email=f"{first.lower()}@example.com", city="Austin", properties={"favorite": "tents"})
        if i % 2 == 0:
            shop.subscribe(store, profile, source="popup", consent_text="Reply STOP to opt out.")
        for k in range(i % 3 + 1):
            shop.order(store, f"A-{i}-{k}", f"{40 + 17 * i + 5 * k}.50", profile, payment_status="paid",
                       order_number=f"#{1000 + i * 10 + k}", placed_at=now - timedelta(days=(i * 5 + k * 3) % 28, hours=k))
        shop.event(store, profile, "viewed_product", {"title": "Trail Tent"})
    shop.abandoned_checkout(store, "C-1")
    klaus = shop.customer(other, "+4915123456789", first_name="Klaus")
    shop.order(other, "B-1", "7777.00", klaus, payment_status="paid", order_number="#B-9001")
    return store


def test_dashboard_in_a_browser(live_server, demo_store, browser):
    # demo_store comes before browser: data is made before Playwright's event loop starts, so
    # the ORM connection it opens is the one pytest-django closes (on PostgreSQL a connection
    # opened inside Playwright's greenlet outlives the test and blocks dropping the test DB).
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # Not logged in: sent to the login form.
    page.goto(live_server.url + "/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "owner@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    # Home: the cards with this store's numbers, the chart drawn by Chart.js.
    assert page.locator("h1").inner_text() == "Acme Outdoors"
    assert page.locator("[data-card=profiles] .card-value").inner_text() == "6"
    assert page.locator("[data-card=sms_subscribers] .card-value").inner_text() == "3"
    assert page.locator("[data-card=orders] .card-value").inner_text() == "12"
    assert page.locator("[data-card=abandoned_checkouts] .card-value").inner_text() == "1"
    assert page.locator("[data-card=revenue] .card-value").inner_text().startswith("$")
    page.wait_for_function("document.getElementById('orders-chart').dataset.drawn === '1'")
    box = page.locator("#orders-chart").bounding_box()
    assert box["width"] > 400 and box["height"] > 150
    assert page.evaluate("window.Chart.getChart(document.getElementById('orders-chart')).data.datasets.length") == 2
    assert "Klaus" not in page.content() and "#B-9001" not in page.content()
    assert page.locator(".status-badge").count() == 2  # the worker, and the texts waiting to go
    assert page.locator("[data-queued-texts]").inner_text() == "0 texts queued"
    # Nothing sticks out of the page sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(ARTIFACTS / "dashboard-home.png"), full_page=True)

    # Profiles: live search through htmx replaces the results without reloading the page.
    page.click("nav.sidenav >> text=Profiles")
    page.wait_for_url("**/profiles/")
    assert page.locator("#profile-results tbody tr").count() == 6
    page.evaluate("window.__same_page = true")
    page.fill("#profile-search", "mia")
    page.wait_for_function("document.querySelectorAll('#profile-results tbody tr').length === 1")
    assert page.evaluate("window.__same_page === true")  # no full reload
    assert "q=mia" in page.url  # the search is in the address bar, so it can be shared/reloaded
    assert page.locator("#profile-results").inner_text().count("mia@example.com") == 1
    page.screenshot(path=str(ARTIFACTS / "dashboard-profiles.png"), full_page=True)

    # Open the profile.
    page.click("#profile-results a.profile-link")
    page.wait_for_url("**/profiles/*/")
    assert "Mia Garcia" in page.locator("h1").inner_text()
    content = page.content()
    for text in ("mia@example.com", "Austin", "favorite", "Reply STOP to opt out.", "Viewed product", "#1020"):
        assert text in content, text
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(ARTIFACTS / "dashboard-profile.png"), full_page=True)

    assert errors == []
