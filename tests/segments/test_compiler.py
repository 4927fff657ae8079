"""segments.compiler on hand-made data with known answers (the random agreement with the
matcher is test_agreement.py): live profiles only, JSON typed the same on both databases,
store-time-zone dates, windows, merges, one query with every value a parameter."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from textpilot.commerce import stats
from textpilot.commerce.models import Checkout, Order, OrderLine, Product
from textpilot.profiles.models import ConsentEvent, Profile
from textpilot.segments.compiler import segment_queryset
from textpilot.segments.facts import load_facts
from textpilot.segments.matcher import matches
from textpilot.segments.definition import validate_definition

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.timezone.utc)


def root(*conditions, **extra):
    return {"version": 1, "match": "all", "conditions": list(conditions), **extra}


def members(store, *conditions, resolver=None, **extra) -> set[int]:
    """The ids the SQL finds, checked against the matcher on the same profiles."""
    definition = validate_definition(root(*conditions, **extra), resolver)
    found = set(segment_queryset(store, definition, now=NOW).values_list("pk", flat=True))
    facts = load_facts(store, Profile.objects.filter(store=store).values_list("pk", flat=True), NOW)
    assert found == {pk for pk, item in facts.items() if matches(definition, item)}
    return found


def person(store, **fields) -> int:
    return Profile.objects.create(store=store, **fields).pk


def test_json_properties_are_typed_alike_on_both_databases(store):
    true, one, text_one, listed, missing = (person(store, properties=value) for value in (
        {"vip": True}, {"vip": 1}, {"vip": "1"}, {"vip": [True, "1"]}, {"other": True}))
    nothing = person(store, properties={"vip": None})
    assert members(store, {"field": "profile.properties.vip", "op": "eq", "value": True}) == {true}
    assert members(store, {"field": "profile.properties.vip", "op": "eq", "value": 1}) == {one}
    assert members(store, {"field": "profile.properties.vip", "op": "eq", "value": 1.0}) == {one}
    assert members(store, {"field": "profile.properties.vip", "op": "eq", "value": "1"}) == {text_one}
    assert members(store, {"field": "profile.properties.vip", "op": "contains", "value": "1"}) == {listed}
    assert members(store, {"field": "profile.properties.vip", "op": "contains", "value": True}) == {listed}
    assert members(store, {"field": "profile.properties.vip", "op": "gte", "value": 1}) == {one}
    assert members(store, {"field": "profile.properties.vip", "op": "exists"}) == {true, one, text_one, listed}
    # Negation is exact: the profiles without the key, or with null, are "not equal".
    assert members(store, {"field": "profile.properties.vip", "op": "neq", "value": True}) == {one, text_one, listed, missing, nothing}
    assert members(store, {"field": "profile.properties.vip", "op": "not_exists"}) == {missing, nothing}


def test_only_live_profiles_count(store):
    live = person(store, city="Boston")
    person(store, city="Boston", merged_into_id=live)
    person(store, city="Boston", erased_at=NOW)
    assert members(store, {"field": "profile.city", "op": "eq", "value": "BOSTON"}) == {live}
    assert members(store, {"field": "profile.city", "op": "eq", "value": "Boston"}, negate=True) == set()


def test_text_compares_ascii_case_insensitively_only(store):
    plain, upper, dotless = person(store, city="boston"), person(store, city="BOSTON"), person(store, city="bostın")
    assert members(store, {"field": "profile.city", "op": "eq", "value": "Boston"}) == {plain, upper}
    # PostgreSQL's UPPER('ı') is 'I' and SQLite's is 'ı': neither side folds beyond ASCII.
    assert members(store, {"field": "profile.city", "op": "eq", "value": "BOSTIN"}) == set()
    assert members(store, {"field": "profile.city", "op": "contains", "value": "ın"}) == {dotless}
    assert members(store, {"field": "profile.city", "op": "contains", "value": "%"}) == set()


def test_dates_are_days_of_the_store_time_zone(store):
    # 2026-03-01 00:30 in New York is 05:30 UTC; 2026-03-01 03:00 UTC is still Feb 28 there.
    march_first = person(store, created_at=dt.datetime(2026, 3, 1, 5, 30, tzinfo=dt.timezone.utc))
    feb_last = person(store, created_at=dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.timezone.utc))
    assert members(store, {"field": "profile.created_at", "op": "before", "value": "2026-03-01"}) == {feb_last}
    assert members(store, {"field": "profile.created_at", "op": "after", "value": "2026-02-28"}) == {march_first}
    assert members(store, {"field": "profile.created_at", "op": "between", "value": ["2026-03-01", "2026-03-01"]}) == {march_first}
    assert members(store, {"field": "profile.created_at", "op": "after", "value": "2026-03-01T04:00:00Z"}) == {march_first}


def order(store, profile_id, total, days_ago, **fields):
    return Order.objects.create(store=store, profile_id=profile_id, external_id=f"o{Order.objects.count()}", total=Decimal(total),
                                placed_at=NOW - dt.timedelta(days=days_ago), payment_status=fields.pop("payment_status", "paid"),
                                **fields)


def test_orders_with_and_without_a_window(store):
    vip, recent, never, euro = (person(store) for _ in range(4))
    order(store, vip, "60.00", 100)
    order(store, vip, "50.10", 40)
    order(store, recent, "0.10", 2)
    order(store, recent, "0.20", 1)
    order(store, recent, "999", 1, cancelled_at=NOW)
    order(store, recent, "999", 1, payment_status="voided")
    order(store, euro, "500", 1, currency="EUR")
    stats.recompute_store(store)
    assert members(store, {"field": "orders.count", "op": "gte", "value": 2}, {"field": "orders.total_spent", "op": "gt", "value": "100"}) == {vip}
    assert members(store, {"field": "orders.count", "op": "eq", "value": 0}) == {never, euro}
    assert members(store, {"field": "orders.count", "op": "gte", "value": 2, "within_days": 30}) == {recent}
    # 0.10 + 0.20 is 0.30 exactly (SQLite would sum floats to 0.30000000000000004).
    assert members(store, {"field": "orders.total_spent", "op": "eq", "value": "0.30", "within_days": 30}) == {recent}
    assert members(store, {"field": "orders.average_value", "op": "eq", "value": "0.15", "within_days": 30}) == {recent}
    assert members(store, {"field": "orders.average_value", "op": "lt", "value": "1", "within_days": 30}) == {vip, recent, never, euro}
    assert members(store, {"field": "orders.days_since_last", "op": "gte", "value": 40}) == {vip}
    assert members(store, {"field": "orders.days_since_last", "op": "eq", "value": 1}) == {recent}
    assert members(store, {"field": "orders.last_at", "op": "not_within_last_days", "value": 30}) == {vip, never, euro}
    assert members(store, {"field": "orders.last_payment_status", "op": "eq", "value": "paid"}) == {vip, euro}


def test_bought_a_product_and_abandoned_checkouts(store):
    buyer, other = person(store), person(store)
    shoe = Product.objects.create(store=store, external_id="shoe-1", title="Shoe")
    OrderLine.objects.create(store=store, order=order(store, buyer, "20", 10), product=shoe, title="Shoe", price=Decimal("20"))
    Checkout.objects.create(store=store, profile_id=other, external_id="c1", total=Decimal("80"), status="abandoned",
                            started_at=NOW - dt.timedelta(days=2))
    Checkout.objects.create(store=store, profile_id=buyer, external_id="c2", total=Decimal("80"), status="recovered",
                            started_at=NOW - dt.timedelta(days=2))
    assert members(store, {"field": "orders.product", "op": "in", "value": ["shoe-1", "hat"]}) == {buyer}
    assert members(store, {"field": "orders.product", "op": "eq", "value": "shoe-1", "within_days": 7}) == set()
    assert members(store, {"field": "checkouts.abandoned", "op": "exists", "within_days": 7}) == {other}
    assert members(store, {"field": "checkouts.abandoned", "op": "gte", "value": "100"}) == set()


def test_opt_in_evidence_of_merged_profiles_counts(store):
    survivor = person(store, phone="+16175550100", sms_status="subscribed", sms_status_at=NOW)
    tombstone = person(store, merged_into_id=survivor)
    ConsentEvent.objects.create(store=store, profile_id=tombstone, status="subscribed", source="keyword", keyword="Join")
    assert members(store, {"field": "sms.keyword", "op": "eq", "value": "JOIN"}) == {survivor}
    assert members(store, {"field": "sms.source", "op": "in", "value": ["popup"]}) == set()


def test_location_radius_and_phone_codes(store):
    boston = person(store, latitude=42.3601, longitude=-71.0589, phone="+16175550101")
    cambridge = person(store, latitude=42.3736, longitude=-71.1097, phone="+447700900123")
    person(store, latitude=40.7128, longitude=-74.0060)  # New York, 306 km away
    around_boston = {"field": "location.within", "op": "eq", "value": {"lat": 42.36, "lon": -71.06, "radius_km": 10}}
    assert members(store, around_boston) == {boston, cambridge}
    assert members(store, {"field": "phone.country_code", "op": "eq", "value": 44}) == {cambridge}
    assert members(store, {"field": "phone.country_code", "op": "in", "value": ["+1", 7]}) == {boston}


def test_events_with_where_and_counts(store):
    from textpilot.events.models import Event

    fan, once, stranger = person(store), person(store), person(store)
    for days in (1, 2, 40):
        Event.objects.create(store=store, profile_id=fan, name="viewed_product", properties={"product_id": "42"},
                             occurred_at=NOW - dt.timedelta(days=days))
    Event.objects.create(store=store, profile_id=once, name="viewed_product", properties={"product_id": 42}, occurred_at=NOW)
    viewed_42 = {"event": "viewed_product", "op": "gte", "value": 2, "within_days": 30, "where": {"product_id": "42"}}
    assert members(store, viewed_42) == {fan}
    assert members(store, {**viewed_42, "value": 1, "where": {"product_id": 42}}) == {once}
    assert members(store, {"event": "viewed_product", "op": "eq", "value": 0}) == {stranger}
    assert members(store, {"event": "viewed_product", "op": "between", "value": [1, 2]}) == {once}


def test_segment_member_is_compiled_inline(store):
    boston, berlin = person(store, city="Boston"), person(store, city="Berlin")
    segments = {5: root({"field": "profile.city", "op": "eq", "value": "boston"})}
    assert members(store, {"field": "segment.member", "op": "eq", "value": {"segment_id": 5}}, resolver=segments.get) == {boston}
    assert members(store, {"field": "segment.member", "op": "neq", "value": {"segment_id": 5}}, resolver=segments.get) == {berlin}


def test_one_query_and_every_value_a_parameter(store):
    person(store, city="Boston")
    marker = "Zq'); DROP TABLE x; --"
    definition = validate_definition(root(
        {"field": "profile.city", "op": "eq", "value": marker},
        {"match": "any", "negate": True, "conditions": [
            {"field": "profile.properties.note", "op": "eq", "value": marker},
            {"field": "sms.source", "op": "eq", "value": marker},
            {"event": "viewed_product", "op": "gte", "value": 3, "within_days": 7, "where": {"q": marker}},
            {"field": "orders.total_spent", "op": "gte", "value": "12.34", "within_days": 30},
        ]},
    ))
    queryset = segment_queryset(store, definition, now=NOW)
    with CaptureQueriesContext(connection) as queries:
        assert list(queryset) == []
    assert len(queries) == 1
    sql, params = queryset.query.sql_with_params()
    assert "DROP" not in sql.upper() and "ZQ" not in sql.upper()
    # Folded text is compared upper-cased; JSON values go to PostgreSQL as '"<marker>"'.
    assert sum(marker in str(param) or marker.upper() in str(param) for param in params) >= 4


@pytest.mark.parametrize("name", ["profile.city", "orders.count"])
def test_another_stores_rows_never_count(store, other_store, name):
    mine = person(store, city="Boston")
    theirs = person(other_store, city="Boston")
    order(other_store, theirs, "10", 1)
    stats.recompute_store(other_store)
    condition = ({"field": "profile.city", "op": "eq", "value": "Boston"} if name == "profile.city"
                 else {"field": "orders.count", "op": "eq", "value": 0})
    assert members(store, condition) == {mine}


EXTREMES = [
    {"field": "orders.total_spent", "op": "gte", "value": "1000000000000"},
    {"field": "orders.total_spent", "op": "between", "value": ["-1000000000000", "1000000000000"], "within_days": 36500},
    {"field": "orders.average_value", "op": "gt", "value": "999999999999.99", "within_days": 36500},
    {"field": "orders.count", "op": "lte", "value": 1_000_000_000, "between": ["1900-01-01", "9999-12-30"]},
    {"field": "orders.days_since_last", "op": "between", "value": [0, 36500]},
    {"field": "orders.first_at", "op": "after", "value": "9999-12-30"},
    {"field": "profile.created_at", "op": "before", "value": "9999-12-30T23:59:59-15:59"},
    {"field": "profile.created_at", "op": "within_last_days", "value": 36500},
    {"field": "profile.properties.n", "op": "lt", "value": -(10**15)},
    {"field": "profile.properties.n", "op": "eq", "value": 1e15},
    {"field": "location.within", "op": "eq", "value": {"lat": 90, "lon": 180, "radius_km": 20000}},
    {"field": "location.within", "op": "neq", "value": {"lat": -89.9, "lon": -180, "radius_km": 0.001}},
    {"event": "viewed_product", "op": "gte", "value": 1_000_000_000, "within_days": 36500, "where": {"n": -(10**15)}},
    {"field": "checkouts.abandoned", "op": "lt", "value": "-1000000000000", "between": ["1900-01-01", "1900-01-01"]},
]


@pytest.mark.parametrize("condition", EXTREMES, ids=lambda c: c.get("field") or c.get("event"))
def test_the_largest_values_allowed_run_on_the_database(store, condition):
    """What validation lets through must never fail in the database (no overflow, no
    out-of-range date, no division by zero): a 422 or an answer, never a 500."""
    pk = person(store, properties={"n": 10**15}, latitude=90.0, longitude=180.0, created_at=NOW)
    order(store, pk, "9999999999.99", 1)
    stats.recompute_store(store)
    members(store, condition)
    members(store, condition, negate=True)


def test_days_since_last_order_is_bounded_like_any_window(store):
    from textpilot.segments.definition import DefinitionError

    with pytest.raises(DefinitionError) as caught:
        validate_definition(root({"field": "orders.days_since_last", "op": "gte", "value": 10**9}))
    assert caught.value.errors[0]["message"] == "value must be between 0 and 36,500"
