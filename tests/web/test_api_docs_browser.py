"""The interactive API docs (/api/v1/docs) work offline: Swagger UI is served by the app
itself, never from a CDN. The browser may only reach the test server (127.0.0.1); any other
host is refused, as on a machine without internet."""
import json
import os
from urllib.parse import urlsplit

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def test_docs_page_references_nothing_outside_the_app(client):
    html = client.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in html
    for marker in ('src="http', "src='http", 'href="http', "href='http", "//cdn", "jsdelivr", "unpkg"):
        assert marker not in html, marker


def test_openapi_document_has_no_repeated_key(client):
    """JSON parsers differ on a repeated key; Swagger UI's (a YAML parser) refuses the document."""
    repeated = []

    def pairs(items):
        keys = [key for key, _ in items]
        repeated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(items)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=pairs)
    assert not repeated, repeated


@pytest.mark.browser
def test_docs_render_their_operations_with_no_network(live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    refused = []

    def only_local(route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_local)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/profiles" in text for text in summaries), summaries[:5]
    assert page.locator(".opblock").count() >= 10
    assert page.locator(".information-container .title").first.inner_text().startswith("textpilot API")
    assert not refused, refused
    assert not errors, errors
