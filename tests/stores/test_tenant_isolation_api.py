"""Every route of the JSON API, called with store A's key against store B's data.

ROUTES says, for each route the API serves (enumerated from the NinjaAPI itself), how to aim
it at store B: a route naming an object (in its path or its body) gets B's object and must
answer 404 while the same call with A's own object succeeds (so the probe really reaches the
object); a route naming none (lists, creates, previews) must only ever answer with A's data.
After every probe, store B's rows are exactly what they were (tenant_world.snapshot) and
the response holds none of B's text (its BERLINMARK token).

A new route makes test_every_api_route_has_a_probe fail, naming it: add its probe here."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from tenant_world import EMAIL, PHONE, VISITOR, World, assert_unchanged, snapshot

from textpilot.api import api

PREFIX = "/api/v1"
REFUSED = (403, 404)


@dataclasses.dataclass(frozen=True)
class Probe:
    """How a route is called. `path`, `body`, `query` and `files` are built from a world:
    for a probe that `refuses`, from B's (the attack: 403/404 expected) and then from A's
    (the control: a 2xx/3xx expected); otherwise from B's only, and `check(a, b, response)`
    says what A must get."""

    path: Callable[[World], dict] = lambda w: {}
    body: Callable[[World], dict] | None = None
    query: Callable[[World], dict] | None = None
    files: Callable[[World], dict] | None = None
    refuses: bool = True
    check: Callable[[World, World, object], None] | None = None


def only_a(listed: Callable[[object], list], a_ids: Callable[[World], set], b_ids: Callable[[World], set]):
    """A list answer: every one of A's expected ids, none of B's."""
    def check(a, b, response):
        assert response.status_code == 200, response.content
        ids = {item["id"] for item in listed(response.json())}
        assert a_ids(a) <= ids, f"A's own rows missing: {a_ids(a) - ids}"
        assert not ids & b_ids(b), f"B's rows listed for A: {ids & b_ids(b)}"
    return check


def items(data):
    return data["items"]


def whole(data):
    return data


def created_in_a(model_label: str, status=(200, 201)):
    """A write naming B's identifiers: it lands in A (the answer's id is a row of A)."""
    def check(a, b, response):
        from django.apps import apps

        assert response.status_code in status, response.content
        row = apps.get_model(model_label).objects.get(pk=response.json()["id"])
        assert row.store_id == a.store.pk
    return check


def profile_of_a(a, b, response):
    assert response.status_code in (200, 201), response.content
    assert response.json()["id"] == a.profile.pk  # the shared phone/email find A's customer, not B's


def event_in_a(a, b, response):
    from textpilot.events.models import Event

    assert response.status_code == 201, response.content  # B's idempotency key is not a duplicate in A
    event = Event.objects.get(pk=response.json()["id"])
    assert (event.store_id, event.profile.store_id) == (a.store.pk, a.store.pk)


def batch_in_a(a, b, response):
    from textpilot.events.models import Event

    assert response.status_code == 200, response.content
    assert (response.json()["recorded"], response.json()["duplicates"]) == (2, 0)
    assert Event.objects.filter(store=a.store, idempotency_key=f"view-{b.slug}").exists()


def order_of_a(a, b, response):
    assert response.status_code == 200, response.content  # A's own order-1, updated
    assert response.json()["id"] == a.order.pk and response.json()["profile_id"] == a.profile.pk


def new_message_of_a(a, b, response):
    from textpilot.delivery.models import Message

    assert response.status_code == 201, response.content  # not B's message under B's key
    message = Message.objects.get(pk=response.json()["id"])
    assert message.store_id == a.store.pk and message.pk != b.keyed_message.pk


def a_store_only(a, b, response):
    assert response.status_code == 200, response.content
    assert [s["id"] for s in response.json()] == [a.store.pk]


def a_links_only(a, b, response):
    assert response.status_code == 200, response.content
    assert f"https://{a.slug}.example/l/" in response.json()["text"]  # A's short-link domain, not B's


def nothing_listed(a, b, response):
    assert response.status_code == 200, response.content
    assert response.json()["items"] == []  # filtering by B's profile id finds nothing of A's, and none of B's


def ok(a, b, response):
    assert response.status_code == 200, response.content


def csv_file(w: World) -> dict:
    return {"file": SimpleUploadedFile("new.csv", b"phone\n+12125550160\n", content_type="text/csv")}


def ids(*objects: str) -> Callable[[World], set]:
    return lambda w: {getattr(w, name).pk for name in objects}


PROFILE = Probe(path=lambda w: {"profile_id": w.profile.pk})

ROUTES: dict[tuple[str, str], Probe | tuple[Probe, ...]] = {
    ("GET", "/stores"): Probe(refuses=False, check=a_store_only),
    ("POST", "/profiles"): Probe(refuses=False, body=lambda w: {"email": f"shop@{w.slug}.test"},
                                check=created_in_a("profiles.Profile")),
    ("POST", "/profiles/identify"): Probe(refuses=False, check=profile_of_a,
                                         body=lambda w: {"phone": PHONE, "email": EMAIL, "first_name": "Changed"}),
    ("GET", "/profiles"): Probe(refuses=False, query=lambda w: {"search": "Kim"},
                                check=only_a(items, ids("profile"), ids("profile"))),
    ("GET", "/profiles/{profile_id}"): PROFILE,
    ("PATCH", "/profiles/{profile_id}"): Probe(path=PROFILE.path, body=lambda w: {"first_name": "Changed"}),
    ("POST", "/profiles/{profile_id}/consent"): Probe(path=PROFILE.path,
                                                      body=lambda w: {"status": "unsubscribed", "source": "api"}),
    ("GET", "/profiles/{profile_id}/consent"): PROFILE,
    ("GET", "/profiles/{profile_id}/consent-proof"): PROFILE,
    ("GET", "/profiles/{profile_id}/export"): PROFILE,
    ("POST", "/profiles/{profile_id}/erase"): PROFILE,
    ("GET", "/profiles/{profile_id}/sendability"): PROFILE,
    ("POST", "/events"): (
        Probe(refuses=False, check=event_in_a,
              body=lambda w: {"name": "Viewed Product", "profile": {"email": f"shop@{w.slug}.test"},
                              "idempotency_key": f"view-{w.slug}"}),
        Probe(refuses=False, check=event_in_a,
              body=lambda w: {"name": "Viewed Product", "profile": {"anonymous_id": VISITOR}}),
    ),
    ("POST", "/events/batch"): Probe(refuses=False, check=batch_in_a, body=lambda w: {"events": [
        {"name": "Viewed Product", "profile": {"phone": PHONE}, "idempotency_key": f"view-{w.slug}"},
        {"name": "Viewed Product", "profile": {"email": f"shop@{w.slug}.test"}}]}),
    ("POST", "/imports"): Probe(refuses=False, files=csv_file, check=created_in_a("imports.ImportJob", status=(201,))),
    ("GET", "/imports"): Probe(refuses=False, check=only_a(whole, ids("import_waiting"), ids("import_waiting"))),
    ("GET", "/imports/{import_id}"): Probe(path=lambda w: {"import_id": w.import_waiting.pk}),
    ("POST", "/imports/{import_id}/mapping"): Probe(path=lambda w: {"import_id": w.import_waiting.pk},
                                                    body=lambda w: {"mapping": w.import_waiting.mapping}),
    ("GET", "/imports/{import_id}/rejected.csv"): Probe(path=lambda w: {"import_id": w.import_done.pk}),
    ("POST", "/orders"): Probe(refuses=False, check=order_of_a,
                               body=lambda w: {"external_id": w.order.external_id, "profile": {"email": EMAIL},
                                               "total": "5.00"}),
    ("POST", "/messages/preview"): Probe(refuses=False, check=a_links_only,
                                         body=lambda w: {"body": "Sale https://shop.test/boots", "kind": "marketing"}),
    ("POST", "/messages/validate-template"): Probe(refuses=False, check=ok,
                                                   body=lambda w: {"body": "Hi {{ first_name }}"}),
    ("GET", "/messages/merge-tags"): Probe(refuses=False, check=ok),
    ("POST", "/messages"): (
        Probe(body=lambda w: {"profile_id": w.profile.pk, "body": "Hello"}),
        Probe(body=lambda w: {"to": PHONE, "sender_id": w.sender.pk, "body": "Hello"}),
        Probe(refuses=False, check=new_message_of_a,
              body=lambda w: {"to": PHONE, "body": "Hello", "idempotency_key": f"key-{w.slug}"}),
    ),
    ("GET", "/messages"): (
        Probe(refuses=False, check=only_a(items, ids("message", "inbound"), ids("message", "inbound"))),
        Probe(refuses=False, query=lambda w: {"profile_id": w.profile.pk}, check=nothing_listed),
    ),
    ("GET", "/messages/{message_id}"): Probe(path=lambda w: {"message_id": w.message.pk}),
    ("GET", "/senders"): Probe(refuses=False, check=only_a(whole, ids("sender"), ids("sender"))),
}


def api_routes() -> set[tuple[str, str]]:
    """(method, path) of every operation the NinjaAPI serves, nested routers included."""
    found = set()
    for router in api._get_bound_routers():
        prefix = router.prefix.strip("/")
        for path, path_view in router.path_operations.items():
            full = "/" + "/".join(part for part in (prefix, path.strip("/")) if part)
            for operation in path_view.operations:
                found |= {(method, full) for method in operation.methods}
    return found


def test_every_api_route_has_a_probe():
    routes = api_routes()
    assert len(routes) >= 27  # the enumeration sees the API (27 operations when this was written)
    missing = sorted(routes - ROUTES.keys())
    assert not missing, (
        "API routes with no tenant-isolation probe in tests/stores/test_tenant_isolation_api.py ROUTES: "
        + ", ".join(f"{method} {PREFIX}{path}" for method, path in missing)
        + ". Add a Probe that aims each at store B's object (or, with refuses=False, checks it answers only A's data).")
    stale = sorted(ROUTES.keys() - routes)
    assert not stale, f"ROUTES names routes the API no longer serves: {stale}"


def _call(client, key: str, method: str, route: str, probe: Probe, world: World):
    path = PREFIX + route.format(**probe.path(world))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if probe.files is not None:
        return client.post(path, probe.files(world), **headers)
    if method == "GET":
        return client.get(path, probe.query(world) if probe.query else {}, **headers)
    query = "?" + urlencode(probe.query(world)) if probe.query else ""
    body = json.dumps(probe.body(world) if probe.body else {})
    return client.generic(method, path + query, body, content_type="application/json", **headers)


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _probes():
    for (method, route), probes in sorted(ROUTES.items()):
        for index, probe in enumerate(probes if isinstance(probes, tuple) else (probes,)):
            yield pytest.param(method, route, probe, id=f"{method} {route}" + (f" #{index + 1}" if index else ""))


@pytest.mark.parametrize(("method", "route", "probe"), list(_probes()))
def test_store_a_key_never_reaches_store_b(client, worlds, method, route, probe):
    a, b = worlds
    probe.path(b), probe.path(a)  # make what the probe names before the snapshot (some objects are made on use)
    before = snapshot(b.store)
    response = _call(client, a.raw_key, method, route, probe, b)
    content = _content(response)
    assert_unchanged(before, b.store, f"{method} {route} with A's key")
    assert b.token.encode() not in content, f"{method} {route} showed store B's data to A: {content[:500]!r}"
    if probe.refuses:
        assert response.status_code in REFUSED, f"{method} {route} with B's object: {response.status_code} {content[:300]!r}"
        control = _call(client, a.raw_key, method, route, probe, a)
        assert 200 <= control.status_code < 400, (
            f"the control ({method} {route} with A's own object) failed, so the probe proves nothing: "
            f"{control.status_code} {_content(control)[:300]!r}")
    else:
        assert response.status_code < 500, content[:300]
        probe.check(a, b, response)
