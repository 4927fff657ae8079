"""Two stores that each own one of everything, for the tenant-isolation tests (and a store
with something on every dashboard page, for the browser sweep of tests/web).

Every store-owned model gets at least one row per store, made the way the product makes it
(services, the API, the Shopify webhook handler); only the states no request can reach
quickly (a failed webhook delivery, a provider call that the dispatcher would record) are
set through the ORM. Both stores know the same customer by the same phone, email and
external id, so a lookup by identifier that forgets the store finds the other store's row.

Each store's text fields carry the store's `token` (ACMEMARK / BERLINMARK): a response
shown to store A that contains BERLINMARK leaked store B's data. `snapshot(store)` is
every row a store owns; equal snapshots before and after a request prove the request
changed nothing of that store."""
from __future__ import annotations

from decimal import Decimal
import dataclasses
import json

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict

from textpilot.stores.models import Store

# One customer, known to both stores by the same identifiers.
PHONE = "+12125550123"
EMAIL = "kim@customer.test"
EXTERNAL_ID = "cust-1"
VISITOR = "visitor-0123456789"  # a storefront visitor's anonymous id, the same in both stores


def store_owned_models() -> list:
    """Every installed model whose rows belong to a store: a `store` foreign key to Store
    (StoreOwned and others) or a bare `store_id` column (the simulated carrier's log)."""
    found = []
    for model in apps.get_models():
        if model is Store or model._meta.abstract or model._meta.proxy:
            continue
        if any(field.attname == "store_id" for field in model._meta.concrete_fields):
            found.append(model)
    return sorted(found, key=lambda model: model._meta.label)


def label(model) -> str:
    return model._meta.label


def snapshot(store: Store) -> dict:
    """Every row `store` owns, and the store row itself, as plain values."""
    rows = {"stores.Store": [model_to_dict(Store.objects.get(pk=store.pk))]}
    for model in store_owned_models():
        rows[label(model)] = list(model.objects.filter(store_id=store.pk).order_by("pk").values())
    return json.loads(json.dumps(rows, default=str, sort_keys=True))


def counts(store: Store) -> dict[str, int]:
    return {label(model): model.objects.filter(store_id=store.pk).count() for model in store_owned_models()}


def assert_unchanged(before: dict, store: Store, what: str) -> None:
    after = snapshot(store)
    changed = {name: (before[name], after.get(name)) for name in before if before[name] != after.get(name)}
    assert not changed, f"{what} changed {store.slug}'s data in: {', '.join(changed)}\n{changed}"


@dataclasses.dataclass
class World:
    """One store and the objects it owns (attributes named after what they are).

    The worlds are built once per test module and each test runs in a savepoint that is
    rolled back (conftest.py), so every attribute is read fresh from the database: what one
    test changed, in the rows or in an instance it refreshed, never reaches the next."""

    store_id: int
    slug: str
    token: str
    raw_key: str = ""
    owner: object = None
    rows: dict = dataclasses.field(default_factory=dict)  # name -> (model, pk)
    # Objects that are slow to make (an import run starts helper processes): made on first
    # use in a test, and again in a later test (the first one's were rolled back).
    later: dict = dataclasses.field(default_factory=dict)

    def put(self, name: str, row) -> None:
        self.rows[name] = (type(row), row.pk)

    @property
    def store(self) -> Store:
        return Store.objects.get(pk=self.store_id)

    def __getattr__(self, name):
        rows, later = self.__dict__["rows"], self.__dict__["later"]
        if name in rows:
            model, pk = rows[name]
            row = model._default_manager.filter(pk=pk).first()
            if row is not None or name not in later:
                return row
        if name in later:
            row = later[name]()
            self.put(name, row)
            return row
        raise AttributeError(name)

    @property
    def shopify_secret(self) -> str:
        return f"shpss_{self.slug}_secret"

    @property
    def shop_domain(self) -> str:
        return f"{self.slug}-shop.myshopify.com"

    @property
    def kannel_token(self) -> str:
        return f"kannel-token-{self.slug}-0123456789"

    @property
    def twilio_token(self) -> str:
        return (self.slug * 32)[:32]


def build_world(client, store: Store, token: str, shopify_api: str) -> World:
    """Give `store` one of everything. `shopify_api` is the Admin API base URL its Shopify
    connection calls; `client` a Django test client (imports are uploaded through the API)."""
    from textpilot.commerce import checkouts, products
    from textpilot.commerce import service as commerce
    from textpilot.delivery import inbound
    from textpilot.delivery import service as delivery
    from textpilot.delivery.models import DailySpend, DeliveryAttempt, Kind, SimDelivery
    from textpilot.events import service as events
    from textpilot.integrations.shopify import backfill, connections, processing
    from textpilot.integrations.shopify.models import BackfillJob, WebhookDelivery
    from textpilot.profiles import service as profiles
    from textpilot.stores import service as stores

    world = World(store_id=store.pk, slug=store.slug, token=token)
    put = world.put
    slug = store.slug
    stores.update_store_settings(store, domain=f"{slug}.example", sender_name=f"Brand{token}")
    api_key, world.raw_key = stores.create_api_key(store, f"key {token}")
    put("api_key", api_key)
    # No password: hashing one costs a second, and the tests log in with force_login.
    world.owner = get_user_model().objects.create_user(f"owner@{slug}.test", f"owner@{slug}.test")
    stores.add_member(store, world.owner, "owner")

    # profiles: the shared customer, their consent, identifier history (written by create)
    profile = profiles.create_profile(store, phone=PHONE, email=EMAIL, external_id=EXTERNAL_ID, first_name=f"Kim{token}",
                                      last_name=f"Lee{token}", properties={"note": token})
    put("profile", profile)
    put("consent", profiles.record_consent(store, profile, "subscribed", "popup", consent_text=f"Join {token}",
                                           ip_address="203.0.113.9"))
    put("visitor", profiles.identify(store, source="snippet", anonymous_id=VISITOR)[0])
    put("event", events.record_event(store, profile, "Viewed Product", {"title": f"Boots {token}"},
                                     idempotency_key=f"view-{slug}")[0])

    # commerce
    product, _ = products.record_product(store, external_id="prod-1", title=f"Boots {token}", price="80.00")
    put("product", product)
    order, _ = commerce.record_order(store, external_id="order-1", total="80.00", profile=profile, order_number=f"#{token}",
                                     payment_status="paid", lines=[{"title": f"Boots {token}", "price": "80.00",
                                                                    "product_external_id": "prod-1"}])
    put("order", order)
    put("checkout", checkouts.record_checkout(store, external_id="checkout-1", total="80.00", profile=profile,
                                              checkout_url=f"https://{slug}.example/cart/{token}")[0])
    # The nightly CLV fit's output, written by its writer: a world's one buyer is far too few
    # for a real fit (which would say "not enough data" and write no prediction).
    from django.utils import timezone as dj_timezone

    from textpilot.commerce import predictions

    put("clv_model", predictions.replace(
        store, [(profile.pk, 1.5, 0.8, "low", Decimal("80.00"), Decimal("110.00"), None)], status="fitted", detail="",
        parameters={"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4, "p": 6.2, "q": 3.7, "gamma": 15.4},
        diagnostics={"note": token}, customers=1, history_days=90, currency=store.currency, fitted_at=dj_timezone.now()))
    put("prediction", predictions.for_profile(store, profile.pk))

    # delivery: a sim sender, a compliance row, an outbound marketing text with a short link,
    # the provider call and receipt of it, the carrier's log of it, a flagged inbound reply
    sender = delivery.create_sender(store, name=f"Sim {token}", provider="sim", from_number="+14155550100",
                                    number_type="short_code", options={"latency_ms": 0, "dlr_delay_s": 0})
    put("sender", sender)
    put("compliance", delivery.update_compliance_settings(store, help_reply=f"Help from {token}"))
    message = delivery.send_message(store, profile=profile, kind=Kind.MARKETING,
                                    body=f"Sale {token}: https://{slug}-shop.test/boots Reply STOP to opt out")
    put("message", message)
    # Sent through the API with an idempotency key only this store used.
    put("keyed_message", delivery.send_message(store, profile=profile, body=f"Order shipped {token}",
                                               origin_key=f"api:key-{slug}"))
    from textpilot.messaging.models import ShortLink

    put("short_link", ShortLink.objects.get(store=store, message=message))
    put("attempt", DeliveryAttempt.objects.create(store=store, message=message, provider="sim", outcome="accepted",
                                                  request={"body": message.body}, response={"id": f"sim-{slug}-1"}))
    delivery.apply_delivery_report(store, provider="sim", status="sent", message_id=message.pk,
                                   provider_message_id=f"sim-{slug}-1", raw={"note": token})
    put("sim_delivery", SimDelivery.objects.create(store_id=store.pk, client_ref=str(message.pk),
                                                   provider_message_id=f"sim-{slug}-1", to_phone=PHONE,
                                                   from_phone=sender.from_number, body=message.body))
    from django.utils import timezone

    from textpilot.delivery import spend

    today = spend.local_day(timezone.now(), store.timezone)
    spend._add(store.pk, today, Decimal("0.0079"))  # what the dispatcher adds when a text goes out
    put("daily_spend", DailySpend.objects.get(store=store, day=today))
    put("inbound", inbound.receive_inbound(store, from_phone=PHONE, to_phone=sender.from_number, provider="sim",
                                           body=f"too many texts lol {token}", provider_message_id=f"in-{slug}-1"))
    assert world.inbound.review_flag == "possible_opt_out", world.inbound.review_flag  # for reply_not_opt_out
    # A Twilio and a Kannel sender, so their webhooks have someone to authenticate.
    put("twilio_sender", delivery.create_sender(
        store, name=f"Twilio {token}", provider="twilio", from_number="+14155550111", number_type="short_code",
        credentials={"account_sid": "AC" + "0" * 32, "auth_token": world.twilio_token},
        options={"base_url": "http://127.0.0.1:9"}))
    put("kannel_sender", delivery.create_sender(
        store, name=f"Kannel {token}", provider="kannel", from_number="+14155550122",
        credentials={"username": "tp", "password": "pw", "webhook_token": world.kannel_token},
        options={"base_url": "http://127.0.0.1:9"}))

    # Shopify: a connection, a customer webhook processed (object version), a data request,
    # a failed delivery (to retry) and a failed backfill (to resume)
    put("connection", connections.connect_shop(store, shop_domain=world.shop_domain, access_token=f"shpat_{slug}",
                                               webhook_secret=world.shopify_secret, api_base_url=shopify_api))
    customer, _ = processing.accept_delivery(store, topic="customers/create", webhook_id=f"wh-{slug}-1", payload={
        "id": 7001, "email": f"shop@{slug}.test", "first_name": f"Shop{token}", "updated_at": "2025-01-01T00:00:00Z"})
    processing.process_delivery(customer.pk)
    request, _ = processing.accept_delivery(store, topic="customers/data_request", webhook_id=f"wh-{slug}-2", payload={
        "shop_domain": world.shop_domain, "customer": {"id": 7001, "email": f"shop@{slug}.test"}, "note": token})
    processing.process_delivery(request.pk)
    put("data_request", request)
    failed, _ = processing.accept_delivery(store, topic="orders/create", webhook_id=f"wh-{slug}-3",
                                           payload={"id": 9001, "note": token})
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=WebhookDelivery.Status.FAILED, error=f"broken {token}")
    put("failed_delivery", failed)
    job = backfill.start_backfill(store)
    BackfillJob.objects.filter(pk=job.pk).update(status=BackfillJob.Status.FAILED, error=f"stopped {token}")
    put("backfill", job)

    # CSV imports through the API: one waiting for its mapping; one run, with a rejected row
    # (made when a test first asks for it: the run takes seconds)
    put("import_waiting", _upload(client, world, f"phone,first_name\n+12125550150,Wait{token}\n"))
    world.later["import_done"] = lambda: _imported(client, world)
    return world


def _imported(client, world: World):
    from django.test import TestCase

    job = _upload(client, world, f"phone,first_name\n+12125550151,Imp{world.token}\n12345,Bad{world.token}\n")
    with TestCase.captureOnCommitCallbacks(execute=True):  # the import worker starts on commit
        started = client.post(f"/api/v1/imports/{job.pk}/mapping", json.dumps({"mapping": job.mapping}),
                              content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {world.raw_key}")
    assert started.status_code == 202, started.content
    job.refresh_from_db()
    assert job.rejected_rows == 1, (job.status, job.error)
    return job


def _upload(client, world: World, content: str):
    from textpilot.integrations.imports.models import ImportJob

    upload = SimpleUploadedFile(f"customers-{world.token}.csv", content.encode(), content_type="text/csv")
    response = client.post("/api/v1/imports", {"file": upload}, HTTP_AUTHORIZATION=f"Bearer {world.raw_key}")
    assert response.status_code == 201, response.content
    return ImportJob.objects.get(pk=response.json()["id"])


def assert_world_complete(world: World) -> None:
    """The world really holds a row of every store-owned model (else the snapshot checks
    prove nothing for the missing one)."""
    empty = sorted(name for name, count in counts(world.store).items() if count == 0)
    assert not empty, (f"tests/tenant_world.py build_world makes no row of {', '.join(empty)}: "
                       "add one, so the tenant-isolation tests watch it")
