"""Staff unsubscribe in a real browser (Debian chromium through Playwright, the shared
`browser` fixture): open a profile, try without a reason, give one, see the new status; then
open the consent proof and print it to PDF. Screenshots in artifacts/consent-*.png."""
import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
# would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PASSWORD = "correct-horse-battery"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
]


@pytest.fixture
def subscriber(transactional_db):
    from textpilot.profiles import service as profiles
    from textpilot.stores import service as stores_service

    store = stores_service.create_store("Acme Outdoors", slug="acme", timezone="America/New_York", currency="USD", country="US")
    stores_service.ensure_user("staff@acme.test", PASSWORD, store, "staff")
    ann = profiles.create_profile(store, phone="+14155551000", first_name="Ann", last_name="Lee")
    profiles.record_consent(store, ann, "subscribed", "popup", consent_text="Reply STOP to opt out.", ip_address="203.0.113.7")
    return ann


def test_staff_unsubscribes_a_customer_from_the_profile_page(live_server, subscriber, browser):
    from textpilot.profiles.models import ConsentEvent, Profile

    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The refused form answers 422 on purpose; chromium logs that as a console error.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 422" not in msg.text else None)

    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", "staff@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.goto(f"{live_server.url}/profiles/{subscriber.pk}/")
    assert page.locator("h1 .pill").inner_text() == "Subscribed"

    # Without a reason: the page says so, nothing changes.
    page.click("[data-action=unsubscribe]")
    page.wait_for_selector("#reason-error")
    assert "a reason is required" in page.locator("#reason-error").inner_text()
    assert page.locator("h1 .pill").inner_text() == "Subscribed"

    page.fill("#staff-consent textarea[name=reason]", "Called the shop and asked us to stop texting")
    page.click("[data-action=unsubscribe]")
    page.wait_for_selector(".flash-success")
    assert "Ann Lee is now unsubscribed" in page.locator(".flash-success").inner_text()
    assert page.locator("h1 .pill").inner_text() == "Unsubscribed"
    assert "Staff staff@acme.test: Called the shop and asked us to stop texting" in page.locator(".consent-table").inner_text()
    assert page.locator("[data-staff-consent=resubscribe]").is_visible()  # the way back asks for confirmation
    assert page.locator("input[name=confirmed]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(ARTIFACTS / "consent-profile.png"), full_page=True)

    assert Profile.objects.get(pk=subscriber.pk).sms_status == "unsubscribed"
    assert ConsentEvent.objects.filter(profile_id=subscriber.pk, source="staff", basis="observed").count() == 1

    # The consent proof opens in a new tab, self-contained, and prints to PDF.
    with page.context.expect_page() as new_tab:
        page.click("[data-consent-proof]")
    proof = new_tab.value
    proof.wait_for_load_state()
    assert "SMS consent proof" in proof.locator("h1").inner_text()
    assert proof.locator("tr.evidence").count() == 2
    assert "Unsubscribed" in proof.locator("section[aria-label=Summary]").inner_text()
    proof.screenshot(path=str(ARTIFACTS / "consent-proof.png"), full_page=True)
    pdf = proof.pdf(path=str(ARTIFACTS / "consent-proof.pdf"))
    assert pdf.startswith(b"%PDF")

    assert errors == []
