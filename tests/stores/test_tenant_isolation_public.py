"""Public endpoints, keyed by something other than an API key: the storefront snippet (the
store's public key), short links (the code), provider webhooks (the sender's token or
signature) and Shopify webhooks (the shop's secret). A request authenticated for store A
(A's key, A's secret, A's link) writes into A only, never into store B, whatever B's ids,
identifiers or provider ids it carries; one signed with A's secret but sent to B's address
is refused.

PUBLIC maps every such URL (by its URL name) to its probe; test_tenant_isolation_pages.py
fails when a URL is neither a dashboard page, a public endpoint here, nor exempt."""
from __future__ import annotations

import json
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
from tenant_world import EMAIL, PHONE, VISITOR, World, assert_unchanged, snapshot
from twilio.request_validator import RequestValidator

from textpilot.delivery.models import DeliveryReport, Direction, Message


@contextmanager
def unchanged(world: World, what: str):
    before = snapshot(world.store)
    yield
    assert_unchanged(before, world.store, what)


def no_token(response, world: World) -> None:
    assert world.token.encode() not in response.content, response.content[:300]


# --- the storefront snippet ---------------------------------------------------------------

def snippet(client, path: str, key: str, payload: dict):
    return client.post(path, json.dumps({"key": key, **payload}), content_type="application/json",
                       HTTP_ORIGIN="https://shop.test", REMOTE_ADDR="198.51.100.7")


def probe_snippet_js(client, a: World, b: World):
    response = client.get("/js/textpilot.js")
    assert response.status_code == 200
    no_token(response, b)


def probe_snippet_track(client, a: World, b: World):
    from textpilot.events.models import Event

    with unchanged(b, "a track with A's public key for the visitor id B also knows"):
        response = snippet(client, "/api/public/v1/track", a.store.public_key,
                           {"anonymous_id": VISITOR, "name": "Viewed Product", "properties": {"page": "boots"}})
    assert response.status_code == 201, response.content
    assert Event.objects.filter(store=a.store, profile=a.visitor, properties__page="boots").count() == 1


def probe_snippet_identify(client, a: World, b: World):
    with unchanged(b, "an identify with A's public key and the customer's shared email and phone"):
        response = snippet(client, "/api/public/v1/identify", a.store.public_key,
                           {"anonymous_id": VISITOR, "email": EMAIL, "first_name": "Changed"})
    assert response.status_code == 200, response.content
    a.profile.refresh_from_db()
    assert a.profile.first_name == "Changed"  # A's customer, found by the email both stores know


# --- short links --------------------------------------------------------------------------

def probe_short_link(client, a: World, b: World):
    """A's link counts a click on A's link and an event of A's customer (the same phone
    and email in B change nothing there)."""
    from textpilot.events.models import Event

    with unchanged(b, "following A's short link"):
        response = client.get(f"/l/{a.short_link.code}", HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    assert response.status_code == 302 and response["Location"] == a.short_link.target_url
    a.short_link.refresh_from_db()
    assert a.short_link.click_count == 1
    assert Event.objects.filter(store=a.store, profile=a.profile, name="clicked_link").count() == 1


# --- Shopify webhooks ---------------------------------------------------------------------

def shopify(client, slug: str, secret: str, shop: str, topic: str, payload: dict, webhook_id: str):
    from textpilot.integrations.shopify.signing import sign

    body = json.dumps(payload).encode()
    return client.post(f"/webhooks/shopify/{slug}", body, content_type="application/json",
                       HTTP_X_SHOPIFY_HMAC_SHA256=sign(secret, body), HTTP_X_SHOPIFY_TOPIC=topic,
                       HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id, HTTP_X_SHOPIFY_SHOP_DOMAIN=shop)


def probe_shopify_webhook(client, a: World, b: World):
    customer = {"id": 7001, "email": EMAIL, "phone": PHONE, "first_name": "Changed", "updated_at": "2026-01-01T00:00:00Z"}
    with unchanged(b, "Shopify webhooks signed with A's secret"):
        # B's customer id, B's webhook id, the shared email and phone: all land in A.
        ok = shopify(client, a.slug, a.shopify_secret, a.shop_domain, "customers/update", customer, f"wh-{b.slug}-1")
        assert ok.status_code == 200 and ok.json()["duplicate"] is False, ok.content
        # A's secret posted to B's address, and A's address claiming B's shop: refused.
        wrong_store = shopify(client, b.slug, a.shopify_secret, b.shop_domain, "customers/update", customer, "wh-x")
        wrong_shop = shopify(client, a.slug, a.shopify_secret, b.shop_domain, "customers/update", customer, "wh-y")
    assert (wrong_store.status_code, wrong_shop.status_code) == (401, 401)
    a.profile.refresh_from_db()
    assert a.profile.first_name == "Changed"


# --- provider webhooks --------------------------------------------------------------------

def twilio(client, path: str, token: str, params: dict):
    signature = RequestValidator(token).compute_signature("http://testserver" + path, params)
    return client.post(path, urlencode(params), content_type="application/x-www-form-urlencoded",
                       HTTP_X_TWILIO_SIGNATURE=signature)


def twilio_status_params(sid: str) -> dict:
    return {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "21610", "From": "+14155550111", "To": PHONE}


def probe_twilio_status(client, a: World, b: World):
    """A signed receipt naming B's message (by our id and by the provider's) changes nothing
    of B: no status, no carrier opt-out of B's customer."""
    Message.objects.filter(pk=b.message.pk).update(provider="twilio", provider_message_id=f"SM{b.slug}")
    with unchanged(b, "Twilio receipts signed with A's token"):
        mine = twilio(client, f"/webhooks/twilio/{a.slug}/status?mid={b.message.pk}", a.twilio_token,
                      twilio_status_params(f"SM{b.slug}"))
        wrong_store = twilio(client, f"/webhooks/twilio/{b.slug}/status?mid={b.message.pk}", a.twilio_token,
                             twilio_status_params(f"SM{b.slug}"))
    # Our id names a message A doesn't have: refused, nothing kept (delivery.webhooks).
    assert mine.status_code == 404 and "no message" in mine.json()["detail"], mine.content
    assert wrong_store.status_code == 403
    assert not DeliveryReport.objects.filter(store=a.store, provider="twilio").exists()


def twilio_inbound_params(sid: str) -> dict:
    return {"MessageSid": sid, "From": PHONE, "To": "+14155550111", "Body": "Where is my order?", "NumMedia": "0"}


def probe_twilio_inbound(client, a: World, b: World):
    """A's inbound text with the provider id one of B's texts has is A's own text."""
    Message.objects.filter(pk=b.inbound.pk).update(provider="twilio", provider_message_id="SMshared")
    with unchanged(b, "a Twilio inbound text signed with A's token"):
        mine = twilio(client, f"/webhooks/twilio/{a.slug}/inbound", a.twilio_token, twilio_inbound_params("SMshared"))
        wrong_store = twilio(client, f"/webhooks/twilio/{b.slug}/inbound", a.twilio_token, twilio_inbound_params("SMx"))
    assert mine.status_code == 200 and wrong_store.status_code == 403
    received = Message.objects.get(store=a.store, provider="twilio", provider_message_id="SMshared")
    assert (received.direction, received.body, received.profile_id) == (Direction.INBOUND, "Where is my order?", a.profile.pk)


def kannel(client, slug: str, kind: str, token: str, **params):
    return client.get(f"/webhooks/kannel/{slug}/{kind}", {"token": token, **params})


def probe_kannel_dlr(client, a: World, b: World):
    with unchanged(b, "Kannel receipts with A's token"):
        mine = kannel(client, a.slug, "dlr", a.kannel_token, mid=b.message.pk, status=2, answer="NACK")
        wrong_store = kannel(client, b.slug, "dlr", a.kannel_token, mid=b.message.pk, status=2)
    assert (mine.status_code, wrong_store.status_code) == (404, 403)


def probe_kannel_inbound(client, a: World, b: World):
    shared_id = b.inbound.provider_message_id
    Message.objects.filter(pk=b.inbound.pk).update(provider="kannel")
    with unchanged(b, "a Kannel inbound text with A's token"):
        mine = kannel(client, a.slug, "inbound", a.kannel_token, id=shared_id, text="Where is my order?",
                      **{"from": PHONE, "to": "+14155550122"})
        wrong_store = kannel(client, b.slug, "inbound", a.kannel_token, text="STOP", **{"from": PHONE})
    assert (mine.status_code, wrong_store.status_code) == (200, 403)
    received = Message.objects.get(store=a.store, provider="kannel", provider_message_id=shared_id)
    assert (received.direction, received.profile_id) == (Direction.INBOUND, a.profile.pk)


def probe_provider_receipts(client, a: World, b: World):
    """One generic view takes every provider's receipts (delivery.webhooks): probe each."""
    probe_twilio_status(client, a, b)
    probe_kannel_dlr(client, a, b)


def probe_provider_inbound(client, a: World, b: World):
    probe_twilio_inbound(client, a, b)
    probe_kannel_inbound(client, a, b)


# URL name -> probe (test_tenant_isolation_pages.test_every_url_has_a_probe checks the keys).
PUBLIC = {
    "snippet:js": probe_snippet_js,
    "snippet:track": probe_snippet_track,
    "snippet:identify": probe_snippet_identify,
    "short_link": probe_short_link,
    "shopify_webhook": probe_shopify_webhook,
    "provider_receipt_webhook": probe_provider_receipts,
    "provider_inbound_webhook": probe_provider_inbound,
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_endpoint_authenticated_for_a_writes_only_into_a(client, worlds, name):
    a, b = worlds
    PUBLIC[name](client, a, b)
