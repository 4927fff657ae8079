"""The delivery pages in a real browser (Debian chromium through Playwright): log in, read
the messages log and a message, then be the customer on the simulated phone: text STOP and
watch the confirmation arrive; on the compliance page, a window set backwards is refused and
an overnight one is confirmed before it is saved. Leaves screenshots in artifacts/delivery-*.png."""
import os
import threading
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
# would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PASSWORD = "correct-horse-battery"
CUSTOMER = "+12125550123"

pytestmark = pytest.mark.browser


def _dispatch():
    """A dispatcher pass in its own thread (it runs its own event loop)."""
    from textpilot.delivery.dispatch import dispatch_until_idle

    worker = threading.Thread(target=dispatch_until_idle, kwargs={"max_seconds": 15})
    worker.start()
    worker.join()


@pytest.fixture
def shop_with_texts(transactional_db):
    from textpilot.delivery import inbound, service
    from textpilot.profiles import service as profiles
    from textpilot.stores import service as stores_service

    store = stores_service.create_store("Acme Outdoors", slug="acme", timezone="America/New_York", currency="USD", country="US")
    other = stores_service.create_store("Berlin Boutique", slug="berlin", timezone="Europe/Berlin", currency="EUR", country="DE")
    stores_service.ensure_user("owner@acme.test", PASSWORD, store, "owner")
    sender = service.create_sender(store, name="Simulated phone", provider="sim", from_number="73301", number_type="short_code",
                                   options={"latency_ms": 0, "dlr_delay_s": 0})
    ann = profiles.create_profile(store, phone=CUSTOMER, first_name="Ann", last_name="Lee")
    profiles.record_consent(store, ann, "subscribed", source="popup")
    service.send_message(store, profile=ann, body="Hi {{ first_name }}, your Trail Tent order #1042 has shipped! Track it at https://acme.test/t/1042")
    service.send_message(store, to="+12125550144", body="Your Acme code is 481516")
    _dispatch()
    service.send_message(store, to="+12125550145", body="Back in stock: the Summit Pack", kind="marketing")  # stays queued
    inbound.receive_inbound(store, from_phone="+12125550144", to_phone=sender.from_number, body="Thanks, got it",
                            provider="sim")
    berlin = service.create_sender(other, name="Berlin sim", provider="sim", from_number="+4915123450000")
    service.send_message(other, to="+4915123456789", body="Geheimer Text")
    # One active sender only: two dispatch at once, and the in-memory SQLite test database
    # (shared cache) answers concurrent writers with "table is locked" instead of waiting.
    service.set_sender_active(other, berlin.pk, False)
    return store


def test_delivery_pages_in_a_browser(live_server, shop_with_texts, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", "owner@acme.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    # Messages log: every text of this store, counts per status, coloured pills.
    page.click("nav.sidenav >> text=Messages")
    page.wait_for_url("**/messages/")
    rows = page.locator("#message-results tbody tr")
    assert rows.count() == 4  # 2 delivered, 1 queued, 1 received
    assert "Geheimer Text" not in page.content()
    assert page.locator(".chip-delivered strong").inner_text() == "2"
    assert page.locator(".chip-queued strong").inner_text() == "1"
    assert page.locator(".chip-received strong").inner_text() == "1"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=str(ARTIFACTS / "delivery-messages.png"), full_page=True)

    # Filtering by status through htmx narrows the list without a reload.
    page.evaluate("window.__same_page = true")
    page.select_option("select[name=status]", "delivered")
    page.wait_for_function("document.querySelectorAll('#message-results tbody tr').length === 2")
    assert page.evaluate("window.__same_page === true") and "status=delivered" in page.url

    # One message: body, timeline with the receipt, the provider call.
    page.click("#message-results a.message-link >> nth=0")
    page.wait_for_url("**/messages/*/")
    content = page.content()
    for text in ("Handed to sim: accepted", "Receipt from sim: delivered", "Provider calls", "Segments"):
        assert text in content, text
    page.screenshot(path=str(ARTIFACTS / "delivery-message.png"), full_page=True)

    # The phone: be Ann, text STOP, see the store's confirmation arrive.
    page.click("nav.sidenav >> text=Phone simulator")
    page.wait_for_url("**/phone/")
    page.fill("#pick-number", "(212) 555-0123")
    page.click("text=Open this phone")
    page.wait_for_selector("#phone-screen .bubble")
    assert "Trail Tent order #1042 has shipped" in page.locator("#phone-screen").inner_text()
    page.fill("#phone-text", "STOP")
    page.click("#phone button[type=submit]")
    page.wait_for_selector("#phone-screen [data-direction=inbound] >> text=STOP")
    assert page.locator("#phone-text").input_value() == ""  # the compose box is cleared
    # The in-memory SQLite test database locks whole tables between connections: hold the
    # page's polls while the dispatcher writes (the next poll after it shows the reply).
    page.evaluate("""window.__hold = true;
        document.body.addEventListener('htmx:beforeRequest', function (e) { if (window.__hold) e.preventDefault(); });""")
    page.wait_for_function("!document.querySelector('.htmx-request')")  # no poll in flight
    _dispatch()  # the dispatcher hands the confirmation to the simulated carrier
    page.evaluate("window.__hold = false")
    confirmation = page.wait_for_selector("#phone-screen [data-direction=outbound] >> text=You are unsubscribed", timeout=10_000)
    assert confirmation is not None  # shown by the 2-second poll, without reloading
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "delivery-phone.png"), full_page=True)

    # The inbox shows Ann's conversation with the opt-out notice.
    page.click("nav.sidenav >> text=Inbox")
    page.wait_for_url("**/inbox/")
    page.screenshot(path=str(ARTIFACTS / "delivery-inbox.png"), full_page=True)
    page.click("text=Ann Lee")
    page.wait_for_url("**/inbox/*/")
    assert "has unsubscribed" in page.content()
    page.fill("textarea[name=body]", "Sorry to see you go, Ann.")
    page.click("#conversation button[type=submit]")
    page.wait_for_selector("#chat >> text=Sorry to see you go, Ann.")
    page.screenshot(path=str(ARTIFACTS / "delivery-conversation.png"), full_page=True)

    # Settings pages.
    page.click("nav.sidenav >> text=Senders")
    page.wait_for_url("**/settings/senders/")
    page.select_option("select[name=provider]", "twilio")
    page.wait_for_selector("input[type=password][name=credential_auth_token]")
    page.screenshot(path=str(ARTIFACTS / "delivery-senders.png"), full_page=True)
    page.click("nav.sidenav >> text=Compliance")
    page.wait_for_url("**/settings/compliance/")
    assert "Marketing may be sent between" in page.locator("#sending-window").inner_text()
    assert "Texas SB 140" in page.locator("#stricter-rules").inner_text()
    page.screenshot(path=str(ARTIFACTS / "delivery-compliance.png"), full_page=True)
    # A window set backwards is refused, naming both ends; ticked as overnight, it is confirmed, then saved.
    page.fill("input[name=window_start]", "21:00")
    page.fill("input[name=window_end]", "08:00")
    page.click("button[type=submit] >> text=Save compliance settings")
    page.wait_for_selector("#window-error")
    assert "“End” (08:00) is before “Start” (21:00)" in page.locator("#window-error").inner_text()
    assert page.get_attribute("input[name=window_start]", "aria-invalid") == "true"
    # The refused form answers 422 (as every refused form does); chromium logs that as a console error.
    assert errors == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    errors.clear()
    page.check("input[name=overnight_window]")
    page.click("button[type=submit] >> text=Save compliance settings")
    page.wait_for_selector("#overnight-confirm")
    assert "from 21:00 until 08:00 the next morning" in page.locator("#overnight-confirm").inner_text()
    page.screenshot(path=str(ARTIFACTS / "delivery-compliance-overnight.png"), full_page=True)
    page.click("#overnight-confirm button")
    page.wait_for_selector("text=Compliance settings saved.")
    assert page.locator("input[name=overnight_window]").is_checked()
    assert page.input_value("input[name=window_start]") == "21:00"

    assert errors == []
