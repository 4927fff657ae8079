"""The address others reach this installation at, and whether the internet can reach it over
HTTPS (what a shop's webhooks and a storefront's pages need)."""
import pytest
from django.test import RequestFactory

from textpilot.common.http import is_public_https, public_address


@pytest.mark.parametrize("url, public", [
    ("https://sms.example.com/webhooks/shopify/acme", True),
    ("https://203.0.113.9.nip.io/x", True),
    ("https://8.8.8.8/x", True),
    ("http://sms.example.com/x", False),
    ("https://127.0.0.1:8000/x", False),
    ("https://localhost/x", False),
    ("https://shop.localhost/x", False),
    ("https://10.0.0.5/x", False),
    ("https://192.168.1.20/x", False),
    ("https://[::1]/x", False),
    ("https://intranet/x", False),
    ("https://box.local/x", False),
    ("https://[bad/x", False),
])
def test_is_public_https(url, public):
    assert is_public_https(url) is public


def test_public_address_prefers_the_configured_public_url(settings):
    request = RequestFactory().get("/", HTTP_HOST="127.0.0.1:8000")
    settings.TEXTPILOT_PUBLIC_URL = "https://sms.example.com/"
    assert public_address(request, "/webhooks/shopify/acme") == "https://sms.example.com/webhooks/shopify/acme"
    settings.TEXTPILOT_PUBLIC_URL = ""
    assert public_address(request, "/webhooks/shopify/acme") == "http://127.0.0.1:8000/webhooks/shopify/acme"
