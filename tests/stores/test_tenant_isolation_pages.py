"""Every dashboard URL, requested by an owner of store A against store B's data.

PAGES maps every dashboard URL (enumerated from the URL resolver, by URL name) to its probe.
A page naming an object gets B's object: GET and POST both answer 404 (or 403/405), while
the page's own method(s) with A's object succeed (so the probe reaches the object). A page
naming none is requested as A (GET, and POST with its form where it has one): it shows A's
data (its ACMEMARK token) and none of B's. After every request store B's rows are exactly
what they were.

Every other URL is either an API route (test_tenant_isolation_api.py), a public endpoint
(test_tenant_isolation_public.py) or EXEMPT with a reason; test_every_url_has_a_probe
fails naming any URL that is none of these."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLResolver, get_resolver, reverse
from tenant_world import PHONE, World, assert_unchanged, snapshot
from test_tenant_isolation_public import PUBLIC

REFUSED = (403, 404, 405)
# URLs that show or change no store's data, or are not the store dashboard at all.
EXEMPT = {
    "healthz": "liveness probe: no store data",
    "web:login": "the login form",
    "web:logout": "ends the session",
}
EXEMPT_NAMESPACES = {
    "admin": "Django's admin: superusers only, not scoped to a store by design",
    "api-v1": "the JSON API: every route is probed in test_tenant_isolation_api.py",
}


@dataclasses.dataclass(frozen=True)
class Page:
    """`args` names the page's object in a world (none: a page without an object). `post`
    is the form the page takes (None: GET only; `get=False`: POST only), built from A's world
    unless `names_b` (a form that names B's store). `own`: the page shows A's data, so A's
    token must be in it. `check(a, b, response)` replaces the status checks."""

    args: Callable[[World], dict] | None = None
    get: bool = True
    post: Callable[[World], dict] | None = None
    query: Callable[[World], dict] | None = None
    own: bool = True
    names_b: bool = False
    check: Callable[[World, World, object], None] | None = None


def form(**fields) -> Callable[[World], dict]:
    return lambda w: dict(fields)


def no_data(w: World) -> dict:
    return {}


PROFILE = {"args": lambda w: {"profile_id": w.profile.pk}}
CONSENT = form(status="unsubscribed", reason="asked by phone to stop")
SENDER = {"args": lambda w: {"sender_id": w.sender.pk}, "get": False}


def stays_in_a(a, b, response):
    """switch-store to B by a user who is no member of it: refused, still in A."""
    from textpilot.stores.middleware import SESSION_KEY

    assert response.status_code == 403
    assert response.wsgi_request.session.get(SESSION_KEY) != b.store_id


def inbound_in_a(a, b, response):
    from textpilot.delivery.models import Direction, Message

    assert response.status_code == 200, response.content[:300]
    assert Message.objects.filter(store=a.store, direction=Direction.INBOUND, body="typed on the phone").count() == 1


def refused_domain(a, b, response):
    assert response.status_code == 409 or response.status_code == 422, response.status_code
    assert b"already connected to another store" in response.content


def disconnects_only_a(a, b, response):
    from textpilot.integrations.shopify.models import ShopifyConnection

    assert response.status_code == 302, response.status_code
    assert not ShopifyConnection.objects.filter(store=a.store).exists()
    assert ShopifyConnection.objects.filter(store=b.store).exists()


PAGES: dict[str, Page] = {
    # web: home, profiles, settings
    "web:home": Page(),
    "web:switch_store": Page(get=False, post=lambda w: {"store_id": w.store_id}, names_b=True, check=stays_in_a),
    "web:profiles": Page(query=lambda w: {"q": "Kim"}),
    "web:profile": Page(**PROFILE),
    "web:profile_export": Page(**PROFILE),
    "web:profile_erase": Page(**PROFILE, get=False, post=no_data),
    "web:profile_sms_consent": Page(**PROFILE, get=False, post=CONSENT),
    "web:profile_consent_proof": Page(**PROFILE),
    "web:settings": Page(post=form(name="Acme Outdoors", timezone="America/New_York", currency="USD", country="US")),
    "web:api_keys": Page(),
    "web:api_key_create": Page(get=False, post=form(name="new key"), own=False),
    "web:api_key_revoke": Page(args=lambda w: {"key_id": w.api_key.pk}, get=False, post=no_data),
    "web:segments": Page(own=False),
    "web:campaigns": Page(own=False),
    "web:flows": Page(own=False),
    "web:growth": Page(own=False),
    "web:analytics": Page(own=False),
    # delivery: messages, inbox, phone, senders, compliance
    "delivery:messages": Page(),
    "delivery:message": Page(args=lambda w: {"message_id": w.message.pk}),
    "delivery:inbox": Page(),
    "delivery:conversation": Page(**PROFILE),
    "delivery:conversation_thread": Page(**PROFILE),
    "delivery:conversation_reply": Page(**PROFILE, get=False, post=form(body="Hello from the inbox")),
    "delivery:conversation_sms_consent": Page(**PROFILE, get=False, post=CONSENT),
    "delivery:reply_not_opt_out": Page(args=lambda w: {"message_id": w.inbound.pk}, get=False, post=no_data),
    "delivery:phone": Page(query=lambda w: {"number": PHONE}),
    "delivery:phone_thread": Page(query=lambda w: {"number": PHONE}),
    "delivery:phone_send": Page(get=False, post=form(number=PHONE, body="typed on the phone"), own=False,
                                check=inbound_in_a),
    "delivery:senders": Page(post=form(provider="sim", name="Another sim", from_number="+14155550177",
                                       number_type="short_code")),
    "delivery:sender_fields": Page(query=lambda w: {"provider": "twilio"}, own=False),
    "delivery:sender_active": Page(**SENDER, post=form(active="0")),
    "delivery:sender_default": Page(**SENDER, post=no_data),
    "delivery:sender_test": Page(**SENDER, post=form(to="+12125550199")),
    "delivery:compliance": Page(),
    # Shopify
    "shopify:page": Page(),
    "shopify:connect": Page(get=False, post=lambda w: {"shop_domain": "berlin-shop.myshopify.com"}, own=False,
                            check=refused_domain),
    "shopify:disconnect": Page(get=False, post=no_data, own=False, check=disconnects_only_a),
    "shopify:backfill_start": Page(get=False, post=no_data, own=False),
    "shopify:backfill_progress": Page(args=lambda w: {"job_id": w.backfill.pk}),
    "shopify:backfill_resume": Page(args=lambda w: {"job_id": w.backfill.pk}, get=False, post=no_data),
    "shopify:delivery_retry": Page(args=lambda w: {"delivery_id": w.failed_delivery.pk}, get=False, post=no_data),
    "shopify:data_request_export": Page(args=lambda w: {"delivery_id": w.data_request.pk}, own=False),
    # CSV imports
    "imports:list": Page(post=lambda w: {"file": SimpleUploadedFile("more.csv", b"phone\n+12125550170\n")}),
    "imports:detail": Page(args=lambda w: {"import_id": w.import_waiting.pk}),
    "imports:mapping": Page(args=lambda w: {"import_id": w.import_waiting.pk}, get=False,
                            post=form(**{"map-0": "phone", "map-1": "first_name"})),
    "imports:progress": Page(args=lambda w: {"import_id": w.import_waiting.pk}),
    "imports:retry": Page(args=lambda w: {"import_id": w.import_waiting.pk}, get=False, post=no_data),
    "imports:rejected": Page(args=lambda w: {"import_id": w.import_done.pk}, own=False),
}


def url_names() -> dict[str, str]:
    """{URL name (namespace:name): route} of every URL the site serves."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(n for n in (namespace, pattern.namespace) if n) or None
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            else:
                name = ":".join(n for n in (namespace, pattern.name) if n) if pattern.name else f"{namespace}:<unnamed>"
                found.setdefault(name, prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "/", None)
    return found


def test_every_url_has_a_probe():
    names = url_names()
    assert len(names) > 60  # the walk sees the site
    exempt = {name for name in names if name.split(":")[0] in EXEMPT_NAMESPACES and ":" in name} | EXEMPT.keys()
    missing = sorted(set(names) - PAGES.keys() - PUBLIC.keys() - exempt)
    assert not missing, (
        "URLs with no tenant-isolation probe: " + ", ".join(f"{name} ({names[name]})" for name in missing)
        + ". Add a dashboard page to PAGES in tests/stores/test_tenant_isolation_pages.py (store B's object must "
          "answer 404 to an owner of A) or a public endpoint to PUBLIC in test_tenant_isolation_public.py.")
    stale = sorted((PAGES.keys() | PUBLIC.keys() | EXEMPT.keys()) - set(names))
    assert not stale, f"probes for URLs the site no longer serves: {stale}"


def _request(client, method: str, name: str, page: Page, world: World | None):
    url = reverse(name, kwargs=page.args(world) if page.args else None)
    if method == "GET":
        return client.get(url, page.query(world) if page.query else {})
    return client.post(url, page.post(world) if page.post else {})


@pytest.mark.parametrize("name", sorted(PAGES))
def test_owner_of_a_never_reaches_store_b(client, worlds, name):
    a, b = worlds
    page = PAGES[name]
    client.force_login(a.owner)
    if page.args:
        page.args(b), page.args(a)  # make what the page names before the snapshot (some objects are made on use)
    before = snapshot(b.store)
    if page.args:
        # B's object, by every method: refused, nothing changed, nothing of B shown.
        for method in ("GET", "POST"):
            response = _request(client, method, name, page, b)
            assert response.status_code in REFUSED, f"{method} {name} with B's object: {response.status_code}"
            assert b.token.encode() not in response.content
        assert_unchanged(before, b.store, f"{name} with B's object")
        # The control: A's own object, by the page's own methods.
        for method in [m for m, takes in (("GET", page.get), ("POST", page.post is not None)) if takes]:
            response = _request(client, method, name, page, a)
            assert 200 <= response.status_code < 400, (
                f"the control ({method} {name} with A's own object) failed, so the probe proves nothing: "
                f"{response.status_code}")
        return
    for method in [m for m, takes in (("GET", page.get), ("POST", page.post is not None)) if takes]:
        response = _request(client, method, name, page, b if page.names_b else a)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code < 500, content[:300]
        assert b.token.encode() not in content, f"{method} {name} showed store B's data to A"
        if page.check is not None:
            page.check(a, b, response)
        elif method == "GET":
            assert response.status_code == 200, response.status_code
            if page.own:
                assert a.token.encode() in content, f"GET {name} shows none of A's data: the probe proves nothing"
        else:
            assert response.status_code < 400, (response.status_code, content[:300])
    assert_unchanged(before, b.store, f"{name} requested by A's owner")
