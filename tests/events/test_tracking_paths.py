"""Tracking's one-statement paths give the same answers as the exact path (profiles.identify)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from textpilot.events import tracking
from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile


def test_single_event_for_a_known_profile_stores_every_field(api, store):
    ann = profiles.create_profile(store, email="ann@example.com")
    when = (timezone.now() - timedelta(hours=3)).replace(microsecond=123456)
    response = api.post("/api/v1/events", {"name": "Started Checkout", "profile": {"email": "ANN@example.com"},
                                           "properties": {"cart": {"items": 2}}, "time": when.isoformat(),
                                           "idempotency_key": "co-9"})
    assert response.status_code == 201, response.content
    stored = Event.objects.get()
    body = response.json()
    assert body.pop("occurred_at").startswith(when.isoformat()[:23])  # JSON times carry milliseconds
    assert body == {"id": stored.pk, "profile_id": ann.pk, "name": "started_checkout",
                    "properties": {"cart": {"items": 2}}, "idempotency_key": "co-9", "created": True}
    assert (stored.profile_id, stored.store_id, stored.name, stored.occurred_at, stored.source) == (
        ann.pk, store.pk, "started_checkout", when, "api")
    assert stored.properties == {"cart": {"items": 2}} and stored.recorded_at is not None


def test_single_event_with_an_identifier_the_profile_lacks_adds_it(api, store):
    ann = profiles.create_profile(store, email="ann@example.com")
    response = api.post("/api/v1/events", {"name": "viewed_product",
                                           "profile": {"email": "ann@example.com", "phone": "+14155552671"}})
    assert response.status_code == 201 and response.json()["profile_id"] == ann.pk
    ann.refresh_from_db()
    assert ann.phone == "+14155552671" and Profile.objects.count() == 1


def test_single_event_naming_two_profiles_merges_them_and_lands_on_the_survivor(api, store):
    older = profiles.create_profile(store, phone="+14155552671")
    newer = profiles.create_profile(store, email="ann@example.com")
    response = api.post("/api/v1/events", {"name": "viewed_product",
                                           "profile": {"email": "ann@example.com", "phone": "+14155552671"}})
    assert response.status_code == 201 and response.json()["profile_id"] == older.pk
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk and Event.objects.get().profile_id == older.pk


def test_retry_of_a_first_event_for_a_new_person_records_once(api):
    payload = {"name": "signed_up", "profile": {"anonymous_id": "v-1"}, "idempotency_key": "signup-v-1"}
    first = api.post("/api/v1/events", payload)
    again = api.post("/api/v1/events", payload)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert Event.objects.count() == 1 and Profile.objects.count() == 1


def test_same_key_in_another_store_is_another_event(api, other_api, store, other_store):
    payload = {"name": "viewed_product", "profile": {"email": "ann@example.com"}, "idempotency_key": "k-1"}
    assert api.post("/api/v1/events", payload).status_code == 201
    assert other_api.post("/api/v1/events", payload).status_code == 201
    assert api.post("/api/v1/events", payload).status_code == 200
    assert sorted(Event.objects.values_list("store_id", flat=True)) == sorted([store.pk, other_store.pk])


def test_merged_profiles_are_not_written_to(api, store):
    older = profiles.create_profile(store, phone="+14155552671")
    tombstone = profiles.create_profile(store, email="gone@example.com")
    profiles.merge_profiles(store, older, tombstone)
    # The tombstone lost its email in the merge: the event goes to a new profile, not the tombstone.
    response = api.post("/api/v1/events", {"name": "viewed_product", "profile": {"email": "gone@example.com"}})
    assert response.status_code == 201
    assert not Event.objects.filter(profile_id=tombstone.pk).exists()


def test_batch_item_resolved_before_a_merge_follows_it(store):
    """Item 0 names a known profile; item 1 makes identify() merge that profile into an older
    one. Both events must land on the survivor, none on the tombstone."""
    older = profiles.create_profile(store, phone="+14155552671")
    newer = profiles.create_profile(store, email="ann@example.com")
    result = tracking.track_events(store, [
        {"name": "viewed_product", "profile": {"email": "ann@example.com"}},
        {"name": "added_to_cart", "profile": {"email": "ann@example.com", "phone": "+14155552671"}},
    ])
    newer.refresh_from_db()
    assert newer.merged_into_id == older.pk
    assert result.recorded == 2
    assert list(Event.objects.order_by("name").values_list("name", "profile_id")) == [
        ("added_to_cart", older.pk), ("viewed_product", older.pk)]


def test_batch_returns_the_rows_it_wrote_and_not_the_duplicates(store):
    known = profiles.create_profile(store, email="ann@example.com")
    tracking.track_events(store, [{"name": "viewed_product", "profile": {"email": "ann@example.com"}, "idempotency_key": "a"}])
    when = timezone.now() - timedelta(minutes=5)
    result = tracking.track_events(store, [
        {"name": "viewed_product", "profile": {"email": "ann@example.com"}, "idempotency_key": "a"},
        {"name": "added_to_cart", "profile": {"email": "ann@example.com"}, "idempotency_key": "b", "time": when},
        {"name": "added_to_cart", "profile": {"email": "ann@example.com"}, "idempotency_key": "b"},
        {"name": "started_checkout", "profile": {"email": "bob@example.com"}},
    ])
    assert (result.recorded, result.duplicates, result.profiles_created) == (2, 2, 1)
    bob = Profile.objects.get(email="bob@example.com")
    stored = {e.pk: (e.profile_id, e.name, e.occurred_at) for e in Event.objects.exclude(idempotency_key="a")}
    assert {w.event_id: (w.profile_id, w.name, w.occurred_at) for w in result.written} == stored
    assert sorted(stored.values(), key=lambda v: v[1])[0] == (known.pk, "added_to_cart", when)
    assert {v[0] for v in stored.values()} == {known.pk, bob.pk}


def test_batch_refused_by_the_database_leaves_no_new_profile(store, monkeypatch):
    """A batch that creates profiles runs in one transaction with its insert."""
    from textpilot.events import event_inserts

    def failing_insert(*args, **kwargs):
        raise RuntimeError("insert failed")

    monkeypatch.setattr(event_inserts, "insert_many", failing_insert)
    with pytest.raises(RuntimeError):
        tracking.track_events(store, [{"name": "viewed_product", "profile": {"email": "new@example.com"}}])
    assert not Profile.objects.filter(email="new@example.com").exists()


@pytest.mark.parametrize("payload, loc", [
    ({"name": "x", "profile": {"email": "a@example.com"}, "properties": {"note": "x\u0000y"}}, "properties"),
    ({"name": "x", "profile": {"external_id": "a\u0000b"}}, "profile.external_id"),
    ({"name": "x", "profile": {"email": "a@example.com"}, "idempotency_key": "k\u0000"}, "idempotency_key"),
])
def test_nul_characters_are_refused_naming_the_field(api, payload, loc):
    """PostgreSQL can't store NUL in text or jsonb: a 422, not a failed insert."""
    single = api.post("/api/v1/events", payload)
    assert single.status_code == 422, single.content
    assert single.json()["detail"][0]["loc"] == ["body", *loc.split(".")]
    batch = api.post("/api/v1/events/batch", {"events": [payload]})
    assert batch.status_code == 422 and batch.json()["detail"][0]["loc"] == ["body", "events", 0, *loc.split(".")]
    assert not Event.objects.exists() and not Profile.objects.exists()


def test_the_text_backslash_u0000_is_kept(api):
    response = api.post("/api/v1/events", {"name": "x", "profile": {"email": "a@example.com"},
                                           "properties": {"note": "\\u0000"}})
    assert response.status_code == 201 and Event.objects.get().properties == {"note": "\\u0000"}


def test_the_one_statement_paths_announce_what_they_wrote(api, store, hook_log):
    from textpilot.common import hooks

    profiles.create_profile(store, email="ann@example.com")
    with hook_log.committing():
        single = api.post("/api/v1/events", {"name": "viewed_product", "profile": {"email": "ann@example.com"},
                                             "idempotency_key": "one"})
        batch = api.post("/api/v1/events/batch", {"events": [
            {"name": "added_to_cart", "profile": {"email": "ann@example.com"}, "idempotency_key": "two"},
            {"name": "viewed_product", "profile": {"email": "ann@example.com"}, "idempotency_key": "one"},
        ]})
        api.post("/api/v1/events", {"name": "viewed_product", "profile": {"email": "ann@example.com"},
                                    "idempotency_key": "one"})  # a retry: nothing new, nothing announced
    assert single.status_code == 201 and batch.json() == {"recorded": 1, "duplicates": 1, "profiles_created": 0}
    stored = [hooks.EventRecorded(e.pk, e.profile_id, e.name, e.occurred_at) for e in Event.objects.order_by("id")]
    assert hook_log.of("events_recorded") == stored and len(stored) == 2
    assert [len(batch) for name, _, batch in hook_log if name == "events_recorded"] == [1, 1]  # one fire per request
