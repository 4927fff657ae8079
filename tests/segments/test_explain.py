"""segments.explain: every node of the definition with held/failed and the value seen, in
words, agreeing with the matcher; and facts.load_facts reads many profiles with a fixed
number of queries (no query per profile)."""
import datetime as dt
import json
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from textpilot.commerce import stats
from textpilot.commerce.models import Order
from textpilot.events.models import Event
from textpilot.profiles.models import Profile
from textpilot.segments.explain import explain
from textpilot.segments.facts import load_facts
from textpilot.segments.matcher import matches
from textpilot.segments.definition import validate_definition

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.timezone.utc)


def test_explain_says_what_held_and_what_was_seen(store):
    ann = Profile.objects.create(store=store, city="Boston", latitude=42.3736, longitude=-71.1097, properties={"vip": True},
                                 sms_status="subscribed", sms_status_at=NOW - dt.timedelta(days=3))
    Order.objects.create(store=store, profile=ann, external_id="1", total=Decimal("120.50"), payment_status="paid",
                         placed_at=NOW - dt.timedelta(days=10))
    Event.objects.create(store=store, profile=ann, name="viewed_product", properties={"product_id": "42"},
                         occurred_at=NOW - dt.timedelta(days=1))
    stats.recompute_store(store)
    segments = {3: {"version": 1, "conditions": [{"field": "profile.city", "op": "eq", "value": "berlin"}]}}
    definition = validate_definition({"version": 1, "match": "all", "conditions": [
        {"field": "orders.count", "op": "gte", "value": 2},
        {"field": "orders.total_spent", "op": "gt", "value": "100"},
        {"match": "any", "negate": True, "conditions": [
            {"field": "profile.properties.vip", "op": "eq", "value": False},
            {"event": "viewed_product", "op": "gte", "value": 2, "within_days": 30, "where": {"product_id": "42"}},
        ]},
        {"field": "location.within", "op": "eq", "value": {"lat": 42.36, "lon": -71.06, "radius_km": 10}},
        {"field": "segment.member", "op": "neq", "value": {"segment_id": 3}},
        {"field": "sms.source", "op": "eq", "value": "popup"},
        {"field": "orders.last_at", "op": "within_last_days", "value": 30},
    ]}, segments.get)
    facts = load_facts(store, [ann.pk], NOW)[ann.pk]
    found = explain(definition, facts)
    json.dumps(found)
    assert found["matches"] is False and found["matches"] == matches(definition, facts)
    count, spent, group, place, member, source, last = found["root"]["conditions"]
    assert found["root"]["summary"] == "5 of 7 conditions held; all are needed"
    assert (count["held"], count["seen"], count["text"]) == (False, 1, "orders.count = 1, needs ≥ 2")
    assert (spent["held"], spent["text"]) == (True, "orders.total_spent = 120.50, needs > 100.00")
    assert group["held"] is True and group["summary"] == "0 of 2 conditions held; one is enough; the group is negated"
    vip, viewed = group["conditions"]
    assert vip["text"] == "profile.properties.vip = true, needs = false"
    assert viewed["text"] == 'viewed_product where product_id = "42": 1 time in the last 30 days, needs ≥ 2'
    assert place["held"] and place["text"] == "location.within is 4.4 km from the point, needs within 10 km of (42.36, -71.06)"
    assert place["seen"] == {"lat": 42.3736, "lon": -71.1097, "distance_km": 4.4}
    assert member["held"] and member["text"] == "not in segment 3, needs not to be in it"
    assert (source["held"], source["seen"], source["text"]) == (False, [], "sms.source has none, needs = popup")
    assert last["held"] and last["seen"] == "2026-06-05T12:00:00-04:00"


def test_explain_of_a_profile_that_is_not_live(store):
    survivor = Profile.objects.create(store=store, city="Boston")
    gone = Profile.objects.create(store=store, city="Boston", merged_into=survivor)
    definition = validate_definition({"version": 1, "conditions": [{"field": "profile.city", "op": "eq", "value": "Boston"}]})
    found = explain(definition, load_facts(store, [gone.pk], NOW)[gone.pk])
    assert found["matches"] is False and found["root"]["held"] is True
    assert found["reason"] == f"merged into profile {survivor.pk}: only live profiles are in segments"


def test_facts_are_loaded_with_a_fixed_number_of_queries(store):
    def queries_for(count):
        ids = []
        for index in range(count):
            profile = Profile.objects.create(store=store, phone=f"+1617555{len(Profile.objects.all()):04d}")
            Order.objects.create(store=store, profile=profile, external_id=f"q{profile.pk}", total=Decimal("5"), placed_at=NOW)
            Event.objects.create(store=store, profile=profile, name="viewed_product", occurred_at=NOW)
            Profile.objects.create(store=store, merged_into=profile)
            ids.append(profile.pk)
        with CaptureQueriesContext(connection) as captured:
            facts = load_facts(store, ids, NOW)
        assert len(facts) == count and all(len(item.orders) == 1 and len(item.events) == 1 for item in facts.values())
        return len(captured)

    assert queries_for(2) == queries_for(25) <= 14


def test_facts_for_a_definition_read_only_what_it_needs(store):
    ann = Profile.objects.create(store=store, city="Boston")
    Event.objects.create(store=store, profile=ann, name="viewed_product", occurred_at=NOW)
    Event.objects.create(store=store, profile=ann, name="placed_order", occurred_at=NOW)
    definition = validate_definition({"version": 1, "conditions": [
        {"field": "profile.city", "op": "eq", "value": "Boston"}, {"event": "placed_order", "op": "gte", "value": 1}]})
    with CaptureQueriesContext(connection) as captured:
        facts = load_facts(store, [ann.pk], NOW, needs=definition.needs())[ann.pk]
    assert len(captured) == 2  # the profile and its placed_order events
    assert [name for name, _, _ in facts.events] == ["placed_order"] and facts.orders is None
    assert matches(definition, facts)


def test_another_stores_profile_is_not_loaded(store, other_store):
    theirs = Profile.objects.create(store=other_store, city="Boston")
    assert load_facts(store, [theirs.pk], NOW) == {}
