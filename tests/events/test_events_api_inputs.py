"""Tracking input the databases cannot store is a 422 naming the item and field, never a 500
or a half-written request (issue #10); a duplicate in a batch creates no profile."""
import pytest

from textpilot.events import tracking
from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile

NAN, INF = float("nan"), float("inf")
EVENT = {"name": "viewed_product", "profile": {"email": "new@example.com"}}


@pytest.mark.parametrize("change, field", [
    ({"properties": {"price": NAN}}, "properties"),
    ({"properties": {"sizes": [1, INF]}}, "properties"),
    ({"properties": {"a\x00": 1}}, "properties"),
    ({"name": "viewed\x00product"}, "name"),
    ({"profile": {"email": "new\x00@example.com"}}, "profile.email"),
    ({"time": "2026-01-01T00:00:00+20:00"}, "time"),      # an offset PostgreSQL can't store
    ({"time": "2026-01-01T00:00:00-16:00"}, "time"),
    ({"time": "0001-01-01T00:00:00+01:00"}, "time"),      # year 0 in UTC: Python overflows
    ({"time": "9999-12-31T23:00:00-05:00"}, "time"),      # year 10000 in UTC
])
def test_unstorable_events_are_refused_alone_and_in_a_batch(api, refused, change, field):
    event = {**EVENT, **change}
    refused(api.post("/api/v1/events", event), "body", *field.split("."))
    refused(api.post("/api/v1/events/batch", {"events": [EVENT, event]}), "body", "events", 1, *field.split("."))
    assert not Event.objects.exists() and not Profile.objects.exists()


def test_a_duplicate_in_a_batch_creates_no_profile(api, store):
    known = profiles.create_profile(store, email="known@example.com")
    assert api.post("/api/v1/events", {**EVENT, "profile": {"email": "known@example.com"}, "idempotency_key": "k1"}).status_code == 201
    events = [
        {**EVENT, "profile": {"email": "late@example.com"}, "idempotency_key": "k1"},     # the store has k1
        {**EVENT, "profile": {"email": "first@example.com"}, "idempotency_key": "k2"},
        {**EVENT, "profile": {"email": "second@example.com"}, "idempotency_key": "k2"},   # k2 twice: the first counts
    ]
    answer = api.post("/api/v1/events/batch", {"events": events})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"recorded": 1, "duplicates": 2, "profiles_created": 1}
    assert set(Profile.objects.values_list("email", flat=True)) == {"known@example.com", "first@example.com"}
    assert Event.objects.get(idempotency_key="k1").profile_id == known.pk


def test_a_batch_of_duplicates_only_writes_nothing(store):
    profiles.create_profile(store, email="known@example.com")
    tracking.track_events(store, [{**EVENT, "profile": {"email": "known@example.com"}, "idempotency_key": "k1"}])
    result = tracking.track_events(store, [{**EVENT, "idempotency_key": "k1"}])
    assert (result.recorded, result.duplicates, result.profiles_created) == (0, 1, 0)
    assert not Profile.objects.filter(email="new@example.com").exists()
