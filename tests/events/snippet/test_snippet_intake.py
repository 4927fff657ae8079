"""The storefront snippet's script and public intake: what a public key can and cannot do."""
import json

import pytest

from textpilot.commerce.models import CustomerStats
from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentEvent, Profile

VISITOR = "9f1c2b7e-4a1d-4c3e-9b8a-2f6d5e4c3b2a"


def test_script_is_javascript_with_a_cache_header_and_no_cookie(client, db):
    response = client.get("/js/textpilot.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert "max-age=3600" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert b"tp_vid" in response.content and b"/api/public/v1/" in response.content
    assert not response.cookies

    again = client.get("/js/textpilot.js", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_track_creates_an_anonymous_profile_and_the_event(public, store):
    response = public.track(VISITOR, "Viewed Product", {"product_id": "tent-1", "price": 199})
    assert response.status_code == 201, response.content
    assert response.json() == {"ok": True}

    visitor = Profile.objects.get(store=store)
    assert (visitor.anonymous_id, visitor.phone, visitor.email, visitor.source) == (VISITOR, None, None, "snippet")
    event = Event.objects.get(store=store)
    assert (event.profile_id, event.name, event.properties, event.source) == (
        visitor.pk, "viewed_product", {"product_id": "tent-1", "price": 199}, "snippet"
    )

    assert public.track(VISITOR, "Added To Cart").status_code == 201
    assert Profile.objects.filter(store=store).count() == 1
    assert list(Event.objects.filter(profile=visitor).order_by("id").values_list("name", flat=True)) == [
        "viewed_product", "added_to_cart"
    ]


def test_identify_merges_the_visitors_events_into_the_known_profile(public, store):
    ann = profiles.create_profile(store, email="ann@example.com", phone="+14155552671")
    public.track(VISITOR, "Viewed Product", {"product_id": "tent-1"})
    public.track(VISITOR, "Started Checkout")
    visitor = Profile.objects.get(store=store, anonymous_id=VISITOR)

    response = public.identify(VISITOR, email="Ann@Example.com", first_name="Ann")
    assert response.status_code == 200, response.content

    ann.refresh_from_db()
    visitor.refresh_from_db()
    assert visitor.merged_into_id == ann.pk
    assert (ann.anonymous_id, ann.first_name, ann.phone) == (VISITOR, "Ann", "+14155552671")
    assert sorted(Event.objects.filter(store=store, profile=ann).values_list("name", flat=True)) == [
        "started_checkout", "viewed_product"
    ]
    # Later events of the same browser go straight to Ann.
    public.track(VISITOR, "Viewed Product", {"product_id": "stove-2"})
    assert Event.objects.filter(store=store, profile=ann).count() == 3
    assert profiles.live_profiles(store).count() == 1


def test_identify_of_someone_new_names_the_visitor_profile(public, store):
    public.track(VISITOR, "Viewed Product")
    assert public.identify(VISITOR, phone="(415) 555-2671", last_name="Lee").status_code == 200
    person = profiles.live_profiles(store).get()
    assert (person.anonymous_id, person.phone, person.last_name) == (VISITOR, "+14155552671", "Lee")
    assert Event.objects.get(store=store).profile_id == person.pk


def test_the_key_in_a_header_works_too(public, store):
    response = public.post(
        "track", {"anonymous_id": VISITOR, "name": "viewed_product"}, key=None,
        headers={"X-Textpilot-Key": store.public_key},
    )
    assert response.status_code == 201
    assert Event.objects.filter(store=store).count() == 1


def test_a_stores_key_writes_only_into_that_store(public, store, other_store):
    public.track(VISITOR, "Viewed Product", key=other_store.public_key)
    public.track(VISITOR, "Viewed Product")
    assert Profile.objects.filter(store=other_store, anonymous_id=VISITOR).count() == 1
    assert Profile.objects.filter(store=store, anonymous_id=VISITOR).count() == 1
    assert Event.objects.filter(store=other_store).count() == Event.objects.filter(store=store).count() == 1


@pytest.mark.parametrize(
    "key",
    [None, "", "pk_not-a-store-key", "tp_looks-like-an-api-key", 12345],
    ids=["missing", "empty", "unknown", "secret-api-key-shape", "number"],
)
def test_a_bad_key_is_401_naming_the_key_and_writes_nothing(public, key):
    response = public.track(VISITOR, "Viewed Product", key=key)
    assert response.status_code == 401, response.content
    assert public.error_fields(response) == ["key"]
    assert not Profile.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(
    "body, status, field",
    [
        ('{"anonymous_id": "', 400, "body"),
        ('["track"]', 400, "body"),
        ({"name": "viewed_product"}, 422, "anonymous_id"),
        ({"anonymous_id": "short", "name": "viewed_product"}, 422, "anonymous_id"),
        ({"anonymous_id": "bad id with spaces", "name": "viewed_product"}, 422, "anonymous_id"),
        ({"anonymous_id": VISITOR}, 422, "name"),
        ({"anonymous_id": VISITOR, "name": 42}, 422, "name"),
        ({"anonymous_id": VISITOR, "name": "!!!"}, 422, "name"),
        ({"anonymous_id": VISITOR, "name": "viewed_product", "properties": ["a"]}, 422, "properties"),
        ({"anonymous_id": VISITOR, "name": "viewed_product", "properties": {"blob": "x" * 40_000}}, 422, "properties"),
        ({"anonymous_id": VISITOR, "name": "viewed_product", "time": "2020-01-01T00:00:00Z"}, 422, "time"),
        ({"anonymous_id": VISITOR, "name": "viewed_product", "profile_id": 1}, 422, "profile_id"),
    ],
    ids=["malformed-json", "not-an-object", "no-visitor", "short-visitor", "visitor-chars", "no-name",
         "name-not-text", "name-unusable", "properties-list", "properties-too-big", "unknown-time", "unknown-profile-id"],
)
def test_bad_track_is_4xx_naming_the_field_and_writes_nothing(public, body, status, field):
    if isinstance(body, dict):
        response = public.post("track", body)
    else:
        response = public.post("track", raw=body)
    assert response.status_code == status, response.content
    assert public.error_fields(response) == [field]
    assert not Profile.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize(
    "traits, field",
    [
        ({"first_name": "Ann"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"phone": 14155552671}, "phone"),
        ({"email": "ann@example.com", "first_name": "A" * 101}, "first_name"),
        ({"email": "ann@example.com", "language": "en-" + "x" * 20}, "language"),
        ({"email": "ann@example.com", "properties": "vip"}, "properties"),
        ({"email": "ann@example.com", "anonymous_id": None}, "anonymous_id"),
    ],
)
def test_bad_identify_is_422_naming_the_field_and_writes_nothing(public, traits, field):
    response = public.post("identify", {"anonymous_id": VISITOR, **traits})
    assert response.status_code == 422, response.content
    assert public.error_fields(response) == [field]
    assert not Profile.objects.exists()


@pytest.mark.parametrize(
    "field, value",
    [
        ("sms_status", "subscribed"),
        ("sms_status_at", "2026-01-01T00:00:00Z"),
        ("consent", True),
        ("orders_count", 12),
        ("total_spent", "9999.00"),
        ("source", "popup"),
        ("merged_into", 1),
    ],
)
def test_the_storefront_cannot_set_consent_or_rollups(public, store, field, value):
    ann = profiles.create_profile(store, email="ann@example.com", phone="+14155552671")
    response = public.identify(VISITOR, email="ann@example.com", **{field: value})
    assert response.status_code == 422, response.content
    assert public.error_fields(response) == [field]
    ann.refresh_from_db()
    assert (ann.sms_status, ann.source, ann.anonymous_id) == ("never", "", None)
    assert not CustomerStats.objects.exists()  # the rollups are commerce's, out of the storefront's reach
    assert not ConsentEvent.objects.exists()


def test_identify_with_a_phone_gives_no_consent(public, store):
    assert public.identify(VISITOR, phone="+14155552671").status_code == 200
    assert profiles.live_profiles(store).get().sms_status == "never"
    assert not ConsentEvent.objects.exists()


def test_an_oversized_body_is_413_and_writes_nothing(public):
    response = public.track(VISITOR, "Viewed Product", {"blob": "x" * 70_000})
    assert response.status_code == 413
    assert public.error_fields(response) == ["body"]
    assert not Profile.objects.exists() and not Event.objects.exists()


def test_the_global_body_limit_applies_when_smaller(public, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    assert public.track(VISITOR, "Viewed Product", {"blob": "x" * 2_000}).status_code == 413
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/v1/profiles"), ("get", "/api/v1/stores"), ("post", "/api/v1/events"), ("get", "/api/v1/profiles/1")],
)
def test_the_public_key_cannot_use_the_bearer_api(client, store, method, path):
    ann = profiles.create_profile(store, email="ann@example.com")
    for headers in ({"Authorization": f"Bearer {store.public_key}"}, {"X-Textpilot-Key": store.public_key}):
        response = getattr(client, method)(path.replace("/1", f"/{ann.pk}"), headers=headers)
        assert response.status_code == 401, (headers, response.content)
        assert b"ann@example.com" not in response.content


def test_the_intake_reads_nothing(client, store):
    profiles.create_profile(store, email="ann@example.com")
    for path in ("/api/public/v1/track", "/api/public/v1/identify"):
        response = client.get(path, {"key": store.public_key}, headers={"X-Textpilot-Key": store.public_key})
        assert response.status_code == 405
        assert response["Allow"] == "POST, OPTIONS"
        assert b"ann@example.com" not in response.content


def test_cors_preflight_is_answered(client, db):
    response = client.options(
        "/api/public/v1/track",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, x-textpilot-key"},
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "X-Textpilot-Key" in response["Access-Control-Allow-Headers"]
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response
    assert "Origin" in response["Vary"]


def test_answers_carry_cors_so_the_storefront_sees_errors_too(public):
    ok = public.track(VISITOR, "Viewed Product", origin="https://another-shop.example")
    refused = public.track(VISITOR, "Viewed Product", key="pk_nope", origin="https://another-shop.example")
    for response in (ok, refused):
        assert response["Access-Control-Allow-Origin"] == "https://another-shop.example"
        assert "Access-Control-Allow-Credentials" not in response
    assert (ok.status_code, refused.status_code) == (201, 401)


def test_json_content_type_is_accepted_too(client, store):
    response = client.post(
        "/api/public/v1/track",
        json.dumps({"key": store.public_key, "anonymous_id": VISITOR, "name": "viewed_product"}),
        content_type="application/json",
    )
    assert response.status_code == 201


def test_the_storefront_cannot_merge_two_known_customers(public, store):
    ann = profiles.create_profile(store, email="ann@example.com")
    bob = profiles.create_profile(store, phone="+14155552671")
    response = public.identify(VISITOR, email="ann@example.com", phone="(415) 555-2671")
    assert response.status_code == 409, response.content
    assert public.error_fields(response) == ["email"]
    assert profiles.live_profiles(store).count() == 2
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert (ann.phone, ann.anonymous_id, bob.email, bob.merged_into_id) == (None, None, None, None)


def test_several_identifiers_of_one_customer_are_fine(public, store):
    ann = profiles.create_profile(store, email="ann@example.com", phone="+14155552671")
    assert public.identify(VISITOR, email="ann@example.com", phone="+1 415 555 2671", external_id="shop-7").status_code == 200
    ann.refresh_from_db()
    assert (ann.anonymous_id, ann.external_id) == (VISITOR, "shop-7")
