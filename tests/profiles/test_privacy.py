"""Export and erase. After an erase, no stored value anywhere in the database (any table, any
column, JSON included) or in stored import files mentions the person's phone or email."""
import json
import re
from decimal import Decimal

from django.apps import apps

from textpilot.commerce import service as commerce
from textpilot.events import service as events
from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles import service
from textpilot.profiles.models import ConsentEvent, Profile, ProfileIdentifier

PHONE, EMAIL = "+14155552671", "ann.lee@example.com"


def every_stored_value(store=None):
    """Yield (table, column, text) for every value of every row of every model (of `store`'s
    rows only, for store-owned models, when a store is given)."""
    for model in apps.get_models():
        columns = [f for f in model._meta.concrete_fields]
        rows = model._base_manager.all()
        if store is not None and any(f.attname == "store_id" for f in columns):
            rows = rows.filter(store_id=store.pk)
        for row in rows.values_list(*[f.attname for f in columns]):
            for field, value in zip(columns, row):
                if value is not None:
                    yield model._meta.db_table, field.attname, json.dumps(value, default=str)


def mentions_person(text: str) -> bool:
    return EMAIL in text.lower() or "4155552671" in re.sub(r"\D", "", text)


def build_person(store, tmp_path):
    ann = service.create_profile(store, phone=PHONE, email=EMAIL, first_name="Ann", last_name="Lee", city="Oakland",
                                 properties={"birthday": "1990-01-01"})
    visitor, _ = service.identify(store, anonymous_id="vid-9")
    events.record_event(store, visitor, "viewed_product", {"product_id": "7", "referrer_email": EMAIL})
    service.identify(store, anonymous_id="vid-9", email=EMAIL)  # merges the visitor into Ann
    service.record_consent(store, ann, "subscribed", "popup", ip_address="203.0.113.5", consent_text="Reply STOP to opt out")
    events.record_event(store, ann, "started_checkout", {"value": "20.00", "phone": PHONE})
    commerce.record_order(store, external_id="9001", total="20.00", profile=ann, payment_status="paid",
                          shipping={"name": "Ann Lee", "address1": "1 Main St", "phone": PHONE},
                          lines=[{"title": "Tent", "price": "20.00"}])
    WebhookDelivery.objects.create(store=store, topic="customers/update", webhook_id="w1",
                                   payload={"id": 1, "email": EMAIL, "phone": "+1 (415) 555-2671"})
    WebhookDelivery.objects.create(store=store, topic="products/update", webhook_id="w2", payload={"id": 2, "title": "Tent"})
    _texts_with(store, ann)
    upload = tmp_path / "customers.csv"
    upload.write_text(f"phone,email\n(415) 555-2671,{EMAIL}\n+14155550000,other@example.com\n")
    ImportJob.objects.create(store=store, original_filename="customers.csv", file_path=str(upload),
                             errors_sample=[{"row": 2, "column": "email", "reason": f"duplicate of {EMAIL}"}])
    return ann, upload


def _texts_with(store, ann):
    """A text sent (with its provider call, receipt and the carrier's log) and one received."""
    from textpilot.delivery import claims, inbound
    from textpilot.delivery import service as delivery
    from textpilot.delivery.models import SimDelivery
    from textpilot.delivery.providers.base import Outcome, SendResult

    delivery.create_sender(store, name="Sim", provider="sim", from_number="+14155550100")
    message = delivery.send_message(store, profile=ann, body="Hi {{ first_name }} Lee, your tent shipped")
    token, claimed = claims.claim_due(message.sender_id, 10, "test")
    claims.apply_gate(token, claimed, {m.pk: claims.gate.Decision("send") for m in claimed}, message.created_at)
    claims.record_results(token, {m.pk: m for m in claimed}, [SendResult(
        message.pk, Outcome.ACCEPTED, provider_message_id="SM1", request={"To": PHONE, "Body": message.body})], "sim")
    SimDelivery.objects.create(store_id=store.pk, client_ref=str(message.pk), provider_message_id="SM1",
                               to_phone=PHONE, from_phone="+14155550100", body=message.body)
    delivery.apply_delivery_report(store, provider="sim", provider_message_id="SM1", status="delivered",
                                   raw={"To": PHONE, "MessageStatus": "delivered"})
    inbound.receive_inbound(store, from_phone=PHONE, to_phone="+14155550100", body=f"Ann Lee here, {EMAIL}", provider="sim")


def test_export_contains_everything(api, store, tmp_path):
    ann, _ = build_person(store, tmp_path)
    response = api.get(f"/api/v1/profiles/{ann.pk}/export")
    assert response.status_code == 200
    data = response.json()
    assert data["profile"]["email"] == EMAIL and data["profile"]["phone"] == PHONE
    assert [c["source"] for c in data["consent"]] == ["popup"]
    assert {e["name"] for e in data["events"]} == {"viewed_product", "started_checkout"}
    assert data["orders"][0]["shipping"]["address1"] == "1 Main St"
    assert [(s["profile_id"], s["orders_count"], s["total_spent"], s["currency"]) for s in data["customer_stats"]] == [
        (ann.pk, 1, "20.00", "USD")]
    assert len(data["merged_profile_ids"]) == 1
    assert [(m["direction"], m["status"]) for m in data["messages"]] == [("outbound", "delivered"), ("inbound", "received")]


def test_erase_leaves_no_personal_data_anywhere(api, store, other_store, tmp_path):
    ann, upload = build_person(store, tmp_path)
    bystander = service.create_profile(other_store, phone=PHONE, email=EMAIL)  # same person, other store: untouched

    response = api.post(f"/api/v1/profiles/{ann.pk}/erase")
    assert response.status_code == 200
    assert response.json()["phone"] is None and response.json()["email"] is None

    leaks = [(table, column) for table, column, text in every_stored_value(store) if mentions_person(text)]
    assert leaks == []
    bystander.refresh_from_db()
    assert (bystander.phone, bystander.email) == (PHONE, EMAIL)
    assert Profile.objects.filter(store=store, phone=PHONE).count() == 0

    # Aggregates survive; evidence survives with a hashed number.
    ann.refresh_from_db()
    kept = response.json()["stats"]
    assert (kept["orders_count"], Decimal(kept["total_spent"]), ann.erased_at is not None) == (1, Decimal("20.00"), True)
    evidence, erased = ConsentEvent.objects.filter(store=store).order_by("id")
    assert evidence.phone.startswith("hmac:") and evidence.consent_text == "Reply STOP to opt out"
    # The erase itself is an opt-out textpilot observed, under the same keyed hash.
    assert (erased.status, erased.source, erased.basis, erased.phone) == ("unsubscribed", "privacy_erase", "observed", evidence.phone)
    assert ann.sms_status == "unsubscribed"
    assert WebhookDelivery.objects.get(webhook_id="w2").payload == {"id": 2, "title": "Tent"}
    assert upload.read_text() == "phone,email\n+14155550000,other@example.com\n"


def test_erase_is_store_scoped(api, other_store):
    theirs = service.create_profile(other_store, phone=PHONE)
    assert api.post(f"/api/v1/profiles/{theirs.pk}/erase").status_code == 404
    theirs.refresh_from_db()
    assert theirs.phone == PHONE


def test_erase_finds_identifiers_the_profile_no_longer_holds(api, store):
    """An email that identify overwrote still sits in a stored webhook: the identifier history
    lets the erase find it."""
    ann = service.create_profile(store, phone=PHONE, email="ann.old@example.com")
    WebhookDelivery.objects.create(store=store, topic="customers/update", webhook_id="old",
                                   payload={"id": 5, "email": "ann.old@example.com"})
    service.identify(store, phone=PHONE, email=EMAIL)  # the email changes
    ann.refresh_from_db()
    assert ann.email == EMAIL
    history = {(i.kind, i.value) for i in ProfileIdentifier.objects.filter(store=store, profile=ann)}
    assert {("email", "ann.old@example.com"), ("email", EMAIL), ("phone", PHONE)} <= history

    assert api.post(f"/api/v1/profiles/{ann.pk}/erase").status_code == 200
    assert WebhookDelivery.objects.get(webhook_id="old").payload == {"redacted": True, "topic": "customers/update"}
    assert not ProfileIdentifier.objects.filter(store=store).exists()
    assert not any("ann.old@example.com" in text for _, _, text in every_stored_value(store))


def test_erased_numbers_are_hashed_with_their_own_versioned_key(store, settings):
    from textpilot.profiles.privacy import erased_number_digest

    first = erased_number_digest(store, PHONE)
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY
    assert erased_number_digest(store, PHONE) == first  # the Django secret plays no part
    assert first.startswith(f"hmac:{settings.ERASURE_KEY_VERSION}:")
    settings.ERASURE_KEY = "another key"
    assert erased_number_digest(store, PHONE) != first
