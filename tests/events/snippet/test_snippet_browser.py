"""The snippet in a real browser (Debian chromium through Playwright; never `playwright install`).

A storefront page on its own origin (shop.test, mapped to the live server by chromium's host
resolver) pastes the script tag of the textpilot server (127.0.0.1), queues a track before the
script has loaded, then identifies the visitor. The calls are cross-origin, as on a real shop."""
import os
import shutil
from urllib.parse import urlsplit

import pytest
from django.db import connections
from django.http import HttpResponse
from django.urls import include, path

from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test
# itself (fixtures, assertions) would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
STOREFRONT_HOST = "shop.test"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu", "--no-first-run", "--disable-sync",
                 f"--host-resolver-rules=MAP {STOREFRONT_HOST} 127.0.0.1"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
    pytest.mark.urls(__name__),
]

STOREFRONT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Trail Tent – Acme Outdoors</title><link rel="icon" href="data:,">
<script>
  window.textpilot = window.textpilot || [];
  ["track", "identify"].forEach(function (m) {
    textpilot[m] = textpilot[m] || function () { textpilot.push([m].concat([].slice.call(arguments))); };
  });
  textpilot.track("Viewed Product", {product_id: "tent-1", title: "Trail Tent", price: 199});
</script>
<script src="{textpilot}/js/textpilot.js" data-key="{key}" async></script>
</head><body><h1>Trail Tent</h1></body></html>
"""


def storefront(request):
    """A merchant's product page: the textpilot server and the key come in the query string."""
    page = STOREFRONT_PAGE.replace("{textpilot}", request.GET["textpilot"]).replace("{key}", request.GET["key"])
    response = HttpResponse(page)
    # Django would add its same-origin COOP header, which chromium rejects (with a console error)
    # on a plain-http, non-localhost origin. A merchant's page is not textpilot's to harden.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


urlpatterns = [
    path("storefront/tent", storefront),
    path("", include("textpilot.urls")),
]


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # ORM calls made while Playwright's event loop runs in this thread get a connection of
            # their own; close it, or PostgreSQL refuses to drop the test database at the end.
            connections.close_all()


def test_a_visitor_browses_then_identifies(live_server, browser, store, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, STOREFRONT_HOST]
    ann = profiles.create_profile(store, email="ann@example.com", phone="+14155552671")  # e.g. from a past order
    port = urlsplit(live_server.url).port
    textpilot_origin, shop_origin = f"http://127.0.0.1:{port}", f"http://{STOREFRONT_HOST}:{port}"

    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{shop_origin}/storefront/tent?textpilot={textpilot_origin}&key={store.public_key}")
    page.wait_for_function("window.textpilot && window.textpilot.loaded === true")
    # identify() is queued behind the replayed track and resolves once both have been answered.
    assert page.evaluate("textpilot.identify({email: 'Ann@Example.com', first_name: 'Ann'})") is True

    cookie = next(c for c in context.cookies() if c["name"] == "tp_vid")
    assert cookie["domain"] == STOREFRONT_HOST and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    one_year = 365 * 24 * 3600
    assert cookie["expires"] - page.evaluate("Date.now() / 1000") == pytest.approx(one_year, abs=3600)
    assert page.evaluate("textpilot.visitorId()") == cookie["value"]

    ann.refresh_from_db()
    assert (ann.anonymous_id, ann.first_name) == (cookie["value"], "Ann")
    event = Event.objects.get(store=store)
    assert (event.profile_id, event.name, event.properties) == (
        ann.pk, "viewed_product", {"product_id": "tent-1", "title": "Trail Tent", "price": 199}
    )
    visitor = Profile.objects.get(store=store, merged_into=ann)
    assert visitor.source == "snippet"

    # The next page view of this browser keeps the visitor id and lands on Ann directly.
    page.reload()
    page.wait_for_function("window.textpilot && window.textpilot.loaded === true")
    assert page.evaluate("textpilot.visitorId()") == cookie["value"]
    assert page.evaluate("textpilot.track('Added To Cart', {product_id: 'tent-1'})") is True
    assert Event.objects.filter(store=store, profile=ann).count() == 3  # viewed twice (reload replays), added once

    # A call with the key in a header needs a CORS preflight: the browser makes it and passes.
    status = page.evaluate(
        """([url, key]) => fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-Textpilot-Key": key},
                                       body: JSON.stringify({anonymous_id: textpilot.visitorId(), name: "Viewed Collection"})})
                          .then(response => response.status)""",
        [f"{textpilot_origin}/api/public/v1/track", store.public_key],
    )
    assert status == 201
    assert errors == []
    context.close()
