import pytest

from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile


def test_track_one_event_creates_the_profile(api):
    response = api.post("/api/v1/events", {"name": "Viewed Product", "profile": {"phone": "(415) 555-2671"}, "properties": {"product_id": "7"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "viewed_product" and body["properties"] == {"product_id": "7"}
    assert Profile.objects.get(pk=body["profile_id"]).phone == "+14155552671"


def test_idempotency_key_records_once(api):
    payload = {"name": "clicked_link", "profile": {"email": "a@example.com"}, "idempotency_key": "click-1"}
    assert api.post("/api/v1/events", payload).status_code == 201
    again = api.post("/api/v1/events", payload)
    assert again.status_code == 200 and again.json()["created"] is False
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    "payload, loc",
    [
        ({"name": "x", "profile": {}}, "profile"),
        ({"name": "x", "profile": {"phone": "123"}}, "profile.phone"),
        ({"name": "!!", "profile": {"email": "a@example.com"}}, "name"),
        ({"name": "x", "profile": {"email": "a@example.com"}, "time": "2999-01-01T00:00:00Z"}, "time"),
        ({"name": "x", "profile": {"email": "a@example.com"}, "time": "2026-01-01T00:00:00"}, "time"),
        ({"name": "x", "profile": {"email": "a@example.com"}, "properties": [1, 2]}, "properties"),
        ({"name": "x", "profile": {"email": "a@example.com"}, "surprise": 1}, "surprise"),
    ],
)
def test_bad_events_are_refused_naming_the_field(api, payload, loc):
    response = api.post("/api/v1/events", payload)
    assert response.status_code == 422, response.content
    # `loc` is the path of the value in the body, for pydantic's errors and the services' alike.
    assert ["body", *loc.split(".")] in [d["loc"] for d in response.json()["detail"]]
    assert not Event.objects.exists() and not Profile.objects.exists()


def test_batch_records_all_and_resolves_known_profiles(api, store):
    known = profiles.create_profile(store, email="known@example.com")
    events = [{"name": "viewed_product", "profile": {"email": "known@example.com"}, "properties": {"i": i}} for i in range(300)]
    events += [{"name": "started_checkout", "profile": {"phone": "+14155552671"}, "idempotency_key": "co-1"}] * 2
    response = api.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 200, response.content
    assert response.json() == {"recorded": 301, "duplicates": 1, "profiles_created": 1}
    assert Event.objects.filter(profile=known).count() == 300
    assert Event.objects.filter(name="started_checkout").count() == 1
    # Stored as JSON objects (queryable by key), with times and the source.
    assert Event.objects.filter(profile=known, properties__i=299).count() == 1
    stored = Event.objects.filter(profile=known).order_by("id").first()
    assert stored.properties == {"i": 0} and stored.occurred_at is not None and stored.recorded_at is not None
    assert stored.source == "api" and stored.store_id == known.store_id


def test_batch_with_one_bad_item_writes_nothing(api):
    events = [{"name": "viewed_product", "profile": {"email": f"p{i}@example.com"}} for i in range(5)]
    events[3]["profile"] = {"phone": "not a phone"}
    response = api.post("/api/v1/events/batch", {"events": events})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events", 3, "profile", "phone"]
    assert not Event.objects.exists() and not Profile.objects.exists()


def test_batch_over_1000_is_refused(api):
    events = [{"name": "viewed_product", "profile": {"email": "a@example.com"}}] * 1001
    assert api.post("/api/v1/events/batch", {"events": events}).status_code == 422
    assert not Event.objects.exists()


def test_batch_is_store_scoped(api, other_store):
    theirs = profiles.create_profile(other_store, email="same@example.com")
    api.post("/api/v1/events/batch", {"events": [{"name": "viewed_product", "profile": {"email": "same@example.com"}}]})
    assert not Event.objects.filter(profile=theirs).exists()
    assert Event.objects.get().profile.store.slug == "acme"


def test_identify_endpoint_upserts_and_merges(api, store):
    first = api.post("/api/v1/profiles/identify", {"anonymous_id": "vid-1"})
    assert first.status_code == 201
    api.post("/api/v1/events", {"name": "viewed_product", "profile": {"anonymous_id": "vid-1"}})
    known = profiles.create_profile(store, email="ann@example.com")
    merged = api.post("/api/v1/profiles/identify", {"anonymous_id": "vid-1", "email": "ann@example.com", "first_name": "Ann"})
    assert merged.status_code == 200 and merged.json()["id"] == known.pk and merged.json()["first_name"] == "Ann"
    assert Event.objects.get().profile_id == known.pk


def test_identify_refuses_bad_fields(api):
    response = api.post("/api/v1/profiles/identify", {"email": "ann@example.com", "timezone": "Atlantis/Capital"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "timezone"]
    assert not Profile.objects.exists()
