"""Every store-owned model is proven isolated, and a new one cannot slip through.

MODELS names, for each model with a `store` column (enumerated from the app registry), the
checks that prove one store can't read or change its rows through another: API probes
(test_tenant_isolation_api.py ROUTES), dashboard probes (test_tenant_isolation_pages.py
PAGES), public endpoint probes (test_tenant_isolation_public.py PUBLIC) and the
service-level checks below (SERVICES: a service of store A handed store B's object refuses
it, or finds only A's rows). Every one of those probes also compares all of store B's rows
before and after, and the tenant world holds a row of every model, so each model is watched
by all of them; test_tenant_world_has_every_model proves that part.

A model that holds another store-owned model's id must carry the store itself
(test_models_that_point_at_store_rows_carry_the_store), or its rows can't be filtered."""
from __future__ import annotations

from decimal import Decimal
import pytest
from django.apps import apps
from django.db import transaction
from tenant_world import PHONE, World, assert_unchanged, assert_world_complete, label, snapshot, store_owned_models
from test_tenant_isolation_api import PREFIX, ROUTES
from test_tenant_isolation_pages import PAGES
from test_tenant_isolation_public import PUBLIC

from textpilot.common.errors import DomainError, NotFound


def refused(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        with transaction.atomic():  # a refusal writes nothing, even halfway
            call(*args, **kwargs)
    return caught.value


# --- service-level checks: store A's services handed store B's objects -----------------------

def check_record_consent(a: World, b: World):
    from textpilot.profiles import service

    assert isinstance(refused(service.record_consent, a.store, b.profile, "unsubscribed", "api"), NotFound)


def check_staff_consent(a: World, b: World):
    from textpilot.profiles import staff_consent

    assert isinstance(refused(staff_consent.set_sms_consent_by_staff, a.store, b.profile, a.owner, "unsubscribed",
                              "asked by phone"), NotFound)


def check_consent_trail(a: World, b: World):
    from textpilot.profiles import service

    assert list(service.consent_trail(a.store, b.profile)) == []
    assert service.standing_opt_outs(a.store, [b.profile.pk]) == {}


def check_merge_profiles(a: World, b: World):
    from textpilot.profiles import service

    refused(service.merge_profiles, a.store, a.profile, b.profile)


def check_export_profile(a: World, b: World):
    from textpilot.profiles import privacy

    assert isinstance(refused(privacy.export_profile, a.store, b.profile), NotFound)


def check_erase_profile(a: World, b: World):
    from textpilot.profiles import privacy

    assert isinstance(refused(privacy.erase_profile, a.store, b.profile), NotFound)


def check_consent_proof(a: World, b: World):
    from textpilot.profiles import consent_proof

    assert isinstance(refused(consent_proof.consent_proof_context, a.store, b.profile), NotFound)


def check_identifier_history(a: World, b: World):
    from textpilot.profiles import identifiers

    assert identifiers.history_of(a.store, [b.profile.pk]) == []
    assert identifiers.values_of(a.store, [b.profile.pk]) == set()
    assert identifiers.forget(a.store, [b.profile.pk]) == 0


def check_record_event(a: World, b: World):
    from textpilot.events import service

    assert isinstance(refused(service.record_event, a.store, b.profile, "Viewed Product", {}), NotFound)
    assert list(service.events_of(a.store, b.profile)) == []


def check_record_order(a: World, b: World):
    from textpilot.commerce import service

    assert isinstance(refused(service.record_order, a.store, external_id="new", total="1.00", profile=b.profile), NotFound)
    # B's external ids name A's own rows in A: the line's product is A's product.
    order, created = service.record_order(a.store, external_id=b.order.external_id, total="2.00",
                                          lines=[{"title": "Boots", "price": "2.00", "product_external_id": "prod-1"}])
    assert (order.pk, created) == (a.order.pk, False)
    assert [line.product_id for line in order.lines.all()] == [a.product.pk]


def check_record_product(a: World, b: World):
    from textpilot.commerce import products

    product, created = products.record_product(a.store, external_id=b.product.external_id, title="Renamed")
    assert (product.pk, created) == (a.product.pk, False)


def check_checkouts(a: World, b: World):
    from textpilot.commerce import checkouts

    assert isinstance(refused(checkouts.record_checkout, a.store, external_id="new", profile=b.profile), NotFound)
    assert isinstance(refused(checkouts.complete_checkout, a.store, a.checkout.external_id, b.order), NotFound)


def check_customer_stats(a: World, b: World):
    """A's stats reads see none of B's customer; A's recomputes leave B's row alone."""
    from textpilot.commerce import stats

    assert stats.for_profile(a.store, a.profile.pk).orders_count >= 1
    theirs = stats.for_profile(a.store, b.profile.pk)
    assert theirs._state.adding and (theirs.orders_count, theirs.currency) == (0, a.store.currency)
    assert all(row._state.adding for row in stats.for_profiles(a.store, [b.profile.pk]).values())
    stats.refresh(a.store, b.profile.pk)
    stats.recompute_store(a.store)


def check_clv_predictions(a: World, b: World):
    """A's reads of predictions see none of B's customer; A's nightly fit and A's forget
    leave B's model and predictions alone."""
    from textpilot.commerce import clv_fitting, predictions

    assert predictions.for_profile(a.store, a.profile.pk).store_id == a.store.pk
    assert predictions.for_profile(a.store, b.profile.pk) is None
    assert predictions.for_profiles(a.store, [a.profile.pk, b.profile.pk]).keys() == {a.profile.pk}
    assert predictions.model_of(a.store).store_id == a.store.pk
    assert predictions.export_for_profiles(a.store, [b.profile.pk]) == {"customer_predictions": []}
    assert predictions.forget(a.store, [b.profile.pk]) == 0
    assert clv_fitting.fit_store(a.store).status == "not_enough_data"  # one buyer
    assert predictions.for_profile(a.store, a.profile.pk) is None


def check_send_message(a: World, b: World):
    from textpilot.delivery import service

    assert isinstance(refused(service.send_message, a.store, body="Hi", profile=b.profile), NotFound)
    error = refused(service.send_message, a.store, body="Hi", to=PHONE, sender=b.sender)
    assert isinstance(error, NotFound) and error.field == "sender_id"


def check_sendability(a: World, b: World):
    from textpilot.delivery import sendability

    assert isinstance(refused(sendability.profile_sendability, a.store, b.profile), NotFound)


def check_message_history(a: World, b: World):
    from textpilot.delivery import queries

    timeline, attempts = queries.message_history(a.store, b.message)
    assert attempts == [] and not any(entry.label.startswith("Receipt") for entry in timeline)
    assert queries.flagged_replies(a.store, b.profile.pk) == [] and queries.phone_numbers(a.store) == [PHONE]


def check_sim_receipts(a: World, b: World):
    """The simulated carrier posts each receipt to the store of its own log row."""
    from django.utils import timezone

    from textpilot.delivery.models import SimDelivery, Status
    from textpilot.delivery.providers.sim import provider as sim

    SimDelivery.objects.filter(pk=a.sim_delivery.pk).update(receipt_due_at=timezone.now(), receipt_status="delivered")
    assert sim.deliver_due_receipts() == 1
    a.message.refresh_from_db()
    assert a.message.status == Status.DELIVERED


def check_daily_spend(a: World, b: World):
    """A's spend counter moves A's row only; B's day is untouched and read as B's."""
    from django.utils import timezone

    from textpilot.delivery import spend

    today = spend.local_day(timezone.now(), a.store.timezone)
    before_b = spend.spent_on(b.store.pk, today)
    spend._add(a.store.pk, today, Decimal("0.5"))
    assert spend.spent_on(b.store.pk, today) == before_b
    assert spend.spent_on(a.store.pk, today) == before_b + Decimal("0.5")  # both worlds start equal


def check_click(a: World, b: World):
    """A click on A's link counts in A; found by its code alone, it names its own store."""
    from textpilot.messaging import links

    link = links.find_link(a.short_link.code)
    assert link.store_id == a.store.pk and links.record_click(link)


def check_shopify_versions(a: World, b: World):
    from textpilot.integrations.shopify import versions
    from textpilot.integrations.shopify.models import ShopifyObjectVersion

    with transaction.atomic():
        # B holds a newer version of customer 7001; A's own older one still applies in A.
        ShopifyObjectVersion.objects.filter(store=a.store).update(updated_at="2024-01-01T00:00:00Z")
        assert versions.claim(a.store, "customer", "7001", timezone_aware("2024-06-01T00:00:00+00:00"))
    assert versions.forget(a.store) == 1


def timezone_aware(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


def check_shopify_records(a: World, b: World):
    from textpilot.integrations.shopify import backfill, privacy, processing

    assert isinstance(refused(processing.retry_delivery, a.store, b.failed_delivery.pk), NotFound)
    assert isinstance(refused(privacy.export_for_request, a.store, b.data_request.pk), NotFound)
    assert isinstance(refused(backfill.resume_backfill, a.store, b.backfill.pk), NotFound)
    assert backfill.latest_job(a.store).pk == a.backfill.pk
    health = processing.delivery_health(a.store)
    assert {d.store_id for d in health["recent"] + health["data_requests"]} == {a.store.pk} and health["total"] == 3


def check_review_flagged_reply(a: World, b: World):
    from textpilot.delivery import inbound

    assert isinstance(refused(inbound.review_flagged_reply, a.store, b.inbound.pk, inbound.REVIEWED_NOT_OPT_OUT), NotFound)


SERVICES = {
    "profiles.record_consent": check_record_consent,
    "profiles.staff_consent": check_staff_consent,
    "profiles.consent_trail": check_consent_trail,
    "profiles.merge_profiles": check_merge_profiles,
    "profiles.export_profile": check_export_profile,
    "profiles.erase_profile": check_erase_profile,
    "profiles.consent_proof": check_consent_proof,
    "profiles.identifier_history": check_identifier_history,
    "events.record_event": check_record_event,
    "commerce.record_order": check_record_order,
    "commerce.record_product": check_record_product,
    "commerce.checkouts": check_checkouts,
    "commerce.customer_stats": check_customer_stats,
    "commerce.clv_predictions": check_clv_predictions,
    "delivery.send_message": check_send_message,
    "delivery.sendability": check_sendability,
    "delivery.message_history": check_message_history,
    "delivery.review_flagged_reply": check_review_flagged_reply,
    "delivery.sim_receipts": check_sim_receipts,
    "delivery.daily_spend": check_daily_spend,
    "messaging.click": check_click,
    "shopify.versions": check_shopify_versions,
    "shopify.records": check_shopify_records,
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_of_store_a_refuses_store_b_objects(worlds, name):
    a, b = worlds
    before = snapshot(b.store)
    SERVICES[name](a, b)
    assert_unchanged(before, b.store, f"service check {name}")


# --- which checks prove which model ---------------------------------------------------------

def api(method: str, path: str) -> str:
    return f"api:{method} {PREFIX}{path}"


MODELS: dict[str, list[str]] = {
    "commerce.Checkout": ["service:commerce.checkouts"],
    "commerce.CustomerPrediction": [api("GET", "/profiles/{profile_id}"), api("GET", "/profiles"),
                                    "service:commerce.clv_predictions", "service:profiles.export_profile",
                                    "service:profiles.erase_profile", "service:profiles.merge_profiles"],
    "commerce.CustomerStats": [api("GET", "/profiles/{profile_id}"), api("GET", "/profiles"), "page:web:profile",
                               "page:web:profiles", "page:web:home", "service:commerce.customer_stats"],
    "commerce.Order": [api("POST", "/orders"), "service:commerce.record_order", "page:web:home"],
    "commerce.OrderLine": [api("POST", "/orders"), "service:commerce.record_order"],
    "commerce.Product": ["service:commerce.record_product", "service:commerce.record_order"],
    "commerce.StoreClvModel": ["service:commerce.clv_predictions"],
    "delivery.ComplianceSettings": ["page:delivery:compliance"],
    "delivery.DeliveryAttempt": ["page:delivery:message", "service:delivery.message_history"],
    "delivery.DeliveryReport": ["public:provider_receipt_webhook", "service:delivery.message_history"],
    "delivery.Message": [api("GET", "/messages/{message_id}"), api("GET", "/messages"), api("POST", "/messages"),
                         "page:delivery:message", "page:delivery:conversation", "page:delivery:phone_thread",
                         "page:delivery:reply_not_opt_out", "public:provider_inbound_webhook",
                         "service:delivery.send_message", "service:delivery.review_flagged_reply"],
    "delivery.Sender": [api("GET", "/senders"), api("POST", "/messages"), "page:delivery:sender_active",
                        "page:delivery:sender_default", "page:delivery:sender_test", "service:delivery.send_message"],
    "delivery.SimDelivery": ["service:delivery.sim_receipts"],
    "delivery.DailySpend": ["service:delivery.daily_spend"],
    "events.Event": [api("POST", "/events"), api("POST", "/events/batch"), "public:snippet:track", "public:short_link",
                     "service:events.record_event"],
    "imports.ImportJob": [api("GET", "/imports/{import_id}"), api("POST", "/imports/{import_id}/mapping"),
                          api("GET", "/imports/{import_id}/rejected.csv"), api("GET", "/imports"),
                          "page:imports:detail", "page:imports:mapping", "page:imports:retry", "page:imports:rejected"],
    "messaging.ShortLink": ["public:short_link", "service:messaging.click"],
    "profiles.ConsentEvent": [api("GET", "/profiles/{profile_id}/consent"), api("POST", "/profiles/{profile_id}/consent"),
                              "page:web:profile_sms_consent", "service:profiles.record_consent",
                              "service:profiles.consent_trail"],
    "profiles.Profile": [api("GET", "/profiles/{profile_id}"), api("PATCH", "/profiles/{profile_id}"),
                         api("POST", "/profiles/identify"), api("GET", "/profiles"), "page:web:profile",
                         "page:web:profile_erase", "public:snippet:identify", "service:profiles.export_profile",
                         "service:profiles.merge_profiles", "service:profiles.consent_proof",
                         "service:delivery.sendability"],
    "profiles.ProfileIdentifier": [api("GET", "/profiles/{profile_id}/export"), "service:profiles.identifier_history"],
    "shopify.BackfillJob": ["page:shopify:backfill_progress", "page:shopify:backfill_resume", "service:shopify.records"],
    "shopify.ShopifyConnection": ["public:shopify_webhook", "page:shopify:connect"],
    "shopify.ShopifyObjectVersion": ["public:shopify_webhook", "service:shopify.versions"],
    "shopify.WebhookDelivery": ["page:shopify:delivery_retry", "page:shopify:data_request_export", "public:shopify_webhook",
                                "service:shopify.records"],
    "stores.ApiKey": ["page:web:api_key_revoke", api("GET", "/stores")],
    "stores.Membership": ["page:web:switch_store"],
}


def known_checks() -> set[str]:
    return ({api(method, path) for method, path in ROUTES} | {f"page:{name}" for name in PAGES}
            | {f"public:{name}" for name in PUBLIC} | {f"service:{name}" for name in SERVICES})


def test_every_store_owned_model_is_covered():
    models = {label(model) for model in store_owned_models()}
    missing = sorted(models - MODELS.keys())
    assert not missing, (
        "store-owned models with no tenant-isolation check: " + ", ".join(missing)
        + ". Add each to MODELS in tests/stores/test_tenant_isolation_models.py with the API/page/public probes or a "
          "service check (SERVICES) that proves store A can't reach store B's rows, and give it a row in "
          "tests/tenant_world.py build_world.")
    assert not MODELS.keys() - models, f"MODELS names models that are gone: {sorted(MODELS.keys() - models)}"
    unknown = {model: sorted(set(checks) - known_checks()) for model, checks in MODELS.items() if set(checks) - known_checks()}
    assert not unknown, f"MODELS cites checks that do not exist: {unknown}"
    assert all(MODELS.values()), "every model needs at least one check"


def test_tenant_world_has_every_model(worlds):
    """Each probe compares all of B's rows, so it watches a model only if B has a row of it."""
    for world in worlds:
        assert_world_complete(world)


def test_models_that_point_at_store_rows_carry_the_store():
    owned = set(store_owned_models())
    without = sorted(
        f"{label(model)}.{field.name}"
        for model in apps.get_models() if model not in owned
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model in owned
    )
    assert not without, (f"{', '.join(without)} point at store-owned rows but have no store column: give the model a "
                         "store (StoreOwned) so every query can filter by it")
