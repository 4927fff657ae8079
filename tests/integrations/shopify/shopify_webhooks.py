"""Posting webhooks the way Shopify does (raw JSON body, HMAC and Shopify headers), and the
shop, token and secret the tests connect with."""
import itertools
import json

SHOP = "acme-outdoors.myshopify.com"
SECRET = "shpss_test_webhook_secret"
TOKEN = "shpat_test_token"

_ids = itertools.count(1)


def signed_headers(body: bytes, topic: str, *, secret: str = SECRET, webhook_id: str | None = None, shop: str = SHOP) -> dict:
    from textpilot.integrations.shopify.signing import sign

    return {
        "HTTP_X_SHOPIFY_HMAC_SHA256": sign(secret, body),
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id or f"wh-{next(_ids)}",
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": shop,
        "HTTP_X_SHOPIFY_API_VERSION": "2025-01",
    }


class Webhooks:
    """Posts Shopify webhooks to a store's endpoint through the Django test client."""

    def __init__(self, client, store_slug: str = "acme"):
        self.client, self.store_slug = client, store_slug

    def post(self, topic: str, payload, *, webhook_id: str | None = None, secret: str = SECRET, raw: bytes | None = None, **headers):
        body = raw if raw is not None else json.dumps(payload).encode()
        all_headers = {**signed_headers(body, topic, secret=secret, webhook_id=webhook_id), **headers}
        return self.client.post(f"/webhooks/shopify/{self.store_slug}", body, content_type="application/json", **all_headers)
