import json

import pytest

from textpilot.profiles.models import Profile


def test_create_read_update_list(api):
    created = api.post(
        "/api/v1/profiles",
        {"phone": "(415) 555-2671", "email": "Ann@Example.com", "first_name": "Ann", "properties": {"vip": True}},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["phone"], body["email"], body["country"], body["sms_status"]) == ("+14155552671", "ann@example.com", "US", "never")

    read = api.get(f"/api/v1/profiles/{body['id']}")
    assert read.status_code == 200 and read.json()["properties"] == {"vip": True}

    patched = api.patch(f"/api/v1/profiles/{body['id']}", {"last_name": "Lee", "timezone": "America/Los_Angeles"})
    assert patched.status_code == 200
    assert (patched.json()["last_name"], patched.json()["first_name"]) == ("Lee", "Ann")

    listed = api.get("/api/v1/profiles", search="555")
    assert listed.json()["count"] == 1 and listed.json()["items"][0]["id"] == body["id"]
    assert api.get("/api/v1/profiles", search="nobody").json()["count"] == 0


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+1 000 000 0000"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "+14155552671", "timezone": "Moon/Base"}, "timezone"),
        ({"phone": "+14155552671", "gender": "robot"}, "gender"),
        ({"phone": "+14155552671", "latitude": 123}, "latitude"),
        ({"phone": "+14155552671", "language": "english please"}, "language"),
        ({"first_name": "No identifier"}, "phone"),
        ({"phone": "+14155552671", "favourite_colour": "red"}, "favourite_colour"),
        ({"phone": "+14155552671", "properties": ["not", "an", "object"]}, "properties"),
        ({"phone": 14155552671}, "phone"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(api, payload, field):
    response = api.post("/api/v1/profiles", payload)
    assert response.status_code == 422, response.content
    locations = [detail["loc"][-1] for detail in response.json()["detail"]]
    assert field in locations
    assert not Profile.objects.exists()


def test_malformed_json_is_400_and_writes_nothing(api):
    response = api.post("/api/v1/profiles", raw='{"phone": "+1415')
    assert response.status_code == 400
    assert not Profile.objects.exists()


def test_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = api.post("/api/v1/profiles", raw=json.dumps({"phone": "+14155552671", "first_name": "x" * 20_000}))
    assert response.status_code == 413
    assert not Profile.objects.exists()


def test_duplicate_phone_is_a_conflict(api):
    assert api.post("/api/v1/profiles", {"phone": "+14155552671"}).status_code == 201
    response = api.post("/api/v1/profiles", {"phone": "(415) 555-2671", "email": "other@example.com"})
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["body", "phone"]
    assert Profile.objects.count() == 1


def test_patch_cannot_remove_the_last_identifier(api):
    created = api.post("/api/v1/profiles", {"phone": "+14155552671"}).json()
    response = api.patch(f"/api/v1/profiles/{created['id']}", {"phone": None})
    assert response.status_code == 422
    assert Profile.objects.get().phone == "+14155552671"


def test_patch_with_bad_value_changes_nothing(api):
    created = api.post("/api/v1/profiles", {"phone": "+14155552671", "first_name": "Ann"}).json()
    response = api.patch(f"/api/v1/profiles/{created['id']}", {"first_name": "Bea", "email": "broken@"})
    assert response.status_code == 422
    assert Profile.objects.get().first_name == "Ann"


def test_unknown_profile_is_404(api):
    assert api.get("/api/v1/profiles/999999").status_code == 404


def test_openapi_and_docs_are_served(client, db):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/api/v1/profiles" in paths and "/api/v1/profiles/{profile_id}" in paths and "/api/v1/stores" in paths
    assert client.get("/api/v1/docs").status_code == 200


def test_region_is_a_state_code(api):
    """The address's state (the gate holds a number to its state's texting law)."""
    created = api.post("/api/v1/profiles", {"phone": "(415) 555-2671", "country": "US", "region": "us-tx"})
    assert created.status_code == 201, created.content
    assert created.json()["region"] == "TX"
    patched = api.patch(f"/api/v1/profiles/{created.json()['id']}", {"region": "FL"})
    assert patched.json()["region"] == "FL"
    refused = api.post("/api/v1/profiles", {"phone": "(415) 555-2672", "region": "Tex as"})
    assert refused.status_code == 422 and "region" in str(refused.json()["detail"])
    assert Profile.objects.count() == 1


def test_profile_output_carries_the_customer_stats_kept_by_commerce(api, store, other_store):
    from datetime import datetime, timezone

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from textpilot.commerce import service as commerce
    from textpilot.profiles import service

    ann = service.create_profile(store, phone="+14155552671")
    bob = service.create_profile(store, phone="+14155552672")
    placed = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    commerce.record_order(store, external_id="1", total="30.00", profile=ann, payment_status="paid", placed_at=placed)
    commerce.record_order(store, external_id="2", total="9.00", currency="EUR", profile=ann, payment_status="paid")

    body = api.get(f"/api/v1/profiles/{ann.pk}").json()
    assert "orders_count" not in body  # moved into `stats`
    assert body["stats"] == {
        "orders_count": 1, "total_spent": "30.00", "average_order_value": "30.00", "first_order_at": "2025-05-01T12:00:00Z",
        "last_order_at": "2025-05-01T12:00:00Z", "currency": "USD", "other_currency_orders": 1, "predicted": None,
    }
    patched = api.patch(f"/api/v1/profiles/{bob.pk}", {"first_name": "Bob"}).json()
    assert patched["stats"] == {"orders_count": 0, "total_spent": "0.00", "average_order_value": "0.00", "first_order_at": None,
                                "last_order_at": None, "currency": "USD", "other_currency_orders": 0, "predicted": None}

    def list_page():
        with CaptureQueriesContext(connection) as queries:
            items = api.get("/api/v1/profiles").json()["items"]
        return {item["id"]: item["stats"]["orders_count"] for item in items}, len(queries)

    listed, two_profiles = list_page()
    assert listed == {ann.pk: 1, bob.pk: 0}
    for n in range(3, 9):
        profile = service.create_profile(store, phone=f"+1415555267{n}")
        commerce.record_order(store, external_id=f"x{n}", total="1", profile=profile)
    theirs = service.create_profile(other_store, phone="+4915123456789")
    commerce.record_order(other_store, external_id="x1", total="5", profile=theirs)
    listed, eight_profiles = list_page()
    assert len(listed) == 8 and theirs.pk not in listed and sum(listed.values()) == 7
    assert eight_profiles == two_profiles  # the stats of a page are one query, not one per profile

    spec = api.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert {"$ref": "#/components/schemas/CustomerStatsOut"} in spec["ProfileOut"]["properties"]["stats"]["anyOf"]
    assert "other_currency_orders" in spec["CustomerStatsOut"]["required"]
