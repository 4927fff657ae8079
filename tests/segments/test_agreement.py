"""The compiler's SQL, the in-memory matcher and explain give the same answer for every profile, for
thousands of random definitions (every field and operator, windows, event conditions,
nested and negated groups, segment.member) over the fixed population: on SQLite and on
PostgreSQL, since the suite runs on both. And typical definitions match a real share of the
population, so the agreement cannot come from both sides matching nobody."""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from definitions import FIELD_NAMES, SEGMENTS, definitions, event_conditions, field_conditions
from population import NOW
from textpilot.segments.compiler import segment_queryset
from textpilot.segments.definition import OPERATORS, DefinitionError, validate_definition
from textpilot.segments.explain import explain
from textpilot.segments.matcher import matches


def answers(population, data):
    store, ids, facts = population
    definition = validate_definition(data, SEGMENTS.get)
    sql = set(segment_queryset(store, definition, now=NOW).values_list("pk", flat=True))
    memory = {pk for pk, item in facts.items() if matches(definition, item)}
    return sql, memory


def assert_agree(population, data, explained=False):
    sql, memory = answers(population, data)
    assert sql == memory, f"SQL only: {sorted(sql - memory)}, memory only: {sorted(memory - sql)} for {data}"
    if explained:  # explain's verdict, built from the parts, is the matcher's
        definition = validate_definition(data, SEGMENTS.get)
        assert {pk for pk, item in population[2].items() if explain(definition, item)["matches"]} == memory
    return sql


# Bounded for the suite (< 60 s a database on a loaded 2-core machine: compiling a query is
# the cost, ~20-50 ms); TEXTPILOT_SEGMENT_EXAMPLES=2000 runs a longer search.
EXAMPLES = int(os.environ.get("TEXTPILOT_SEGMENT_EXAMPLES", "40"))
CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=CHECKS)
@given(batch=st.lists(definitions(), min_size=8, max_size=8))
def test_sql_and_memory_agree_on_random_definitions(population, batch):
    for index, data in enumerate(batch):
        assert_agree(population, data, explained=index < 2)


@settings(max_examples=EXAMPLES * 6, deadline=None, suppress_health_check=CHECKS)
@given(condition=st.one_of(field_conditions(), event_conditions()), negate=st.booleans())
def test_sql_and_memory_agree_on_every_single_condition(population, condition, negate):
    assert_agree(population, {"version": 1, "match": "all", "negate": negate, "conditions": [condition]})


TYPICAL = [
    {"field": "sms.status", "op": "eq", "value": "subscribed"},
    {"field": "orders.count", "op": "gte", "value": 2},
    {"field": "orders.count", "op": "gte", "value": 1, "within_days": 30},
    {"field": "orders.total_spent", "op": "gt", "value": "100"},
    {"field": "orders.total_spent", "op": "gt", "value": "50", "within_days": 90},
    {"field": "orders.average_value", "op": "lte", "value": "20", "within_days": 90},
    {"field": "orders.first_at", "op": "before", "value": "2026-03-01"},
    {"field": "orders.last_at", "op": "within_last_days", "value": 30},
    {"field": "orders.days_since_last", "op": "between", "value": [7, 60]},
    {"field": "orders.last_payment_status", "op": "eq", "value": "paid"},
    {"field": "orders.product", "op": "in", "value": ["p1", "42"], "within_days": 90},
    {"field": "checkouts.abandoned", "op": "exists"},
    {"field": "messages.received", "op": "exists", "within_days": 30},
    {"field": "messages.received_media", "op": "exists"},
    {"field": "messages.replied", "op": "exists"},
    {"field": "messages.clicked", "op": "exists", "within_days": 90},
    {"field": "profile.city", "op": "eq", "value": "boston"},
    {"field": "profile.city", "op": "contains", "value": "o"},
    {"field": "profile.country", "op": "in", "value": ["US", "CA"]},
    {"field": "profile.created_at", "op": "between", "value": ["2026-01-01", "2026-06-01"]},
    {"field": "profile.properties.score", "op": "gt", "value": 1},
    {"field": "profile.properties.größe", "op": "exists"},
    {"field": "phone.country_code", "op": "in", "value": [1, 44]},
    {"field": "location.within", "op": "eq", "value": {"lat": 42.36, "lon": -71.06, "radius_km": 30}},
    {"field": "sms.subscribed_at", "op": "after", "value": "2026-05-01"},
    {"field": "sms.source", "op": "eq", "value": "keyword"},
    {"field": "sms.keyword", "op": "eq", "value": "join"},
    {"event": "viewed_product", "op": "gte", "value": 1, "within_days": 90, "where": {"product_id": "42"}},
    {"event": "viewed_product", "op": "between", "value": [1, 2]},
    {"field": "segment.member", "op": "eq", "value": {"segment_id": 2}},
]


@pytest.mark.parametrize("condition", TYPICAL, ids=lambda c: c.get("field") or c.get("event"))
def test_typical_definitions_match_some_and_not_all(population, condition):
    store, ids, facts = population
    live = sum(1 for item in facts.values() if item.live)
    found = assert_agree(population, {"version": 1, "match": "all", "conditions": [condition]})
    assert 0 < len(found) < live
    negated = assert_agree(population, {"version": 1, "match": "all", "negate": True, "conditions": [condition]})
    assert len(found) + len(negated) == live


def test_a_nested_four_level_segment_matches_a_share(population):
    vip_or_engaged = {"version": 1, "match": "any", "conditions": [
        {"match": "all", "conditions": [
            {"field": "orders.count", "op": "gte", "value": 1},
            {"match": "any", "negate": True, "conditions": [
                {"field": "profile.country", "op": "eq", "value": "DE"},
                {"match": "all", "conditions": [
                    {"event": "viewed_product", "op": "gte", "value": 1, "where": {"product_id": "42"}},
                    {"field": "messages.clicked", "op": "not_exists"}]}]}]},
        {"field": "sms.subscribed_at", "op": "within_last_days", "value": 30},
    ]}
    assert 5 < len(assert_agree(population, vip_or_engaged)) < 50


any_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=10), st.sampled_from(["Boston", "%", "_o", "\\", "b%o", "BOSTON", "2026-06-15", "30", "paid", "p1"])),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["lat", "lon", "radius_km", "x"]), children,
                                                                      max_size=3),
    max_leaves=6)
registry_names = st.sampled_from(FIELD_NAMES + ["profile.properties.vip", "profile.properties.tags", "profile.properties.größe"])


@settings(max_examples=EXAMPLES * 10, deadline=None, suppress_health_check=CHECKS)
@given(name=registry_names, op=st.sampled_from(OPERATORS), value=any_json, negate=st.booleans())
def test_any_value_is_refused_or_answered_alike(population, name, op, value, negate):
    """Whatever value a client sends for a field: a DefinitionError, or an answer on which
    the database and the matcher agree (LIKE wildcards, backslashes, huge integers, unicode)."""
    data = {"version": 1, "negate": negate, "conditions": [{"field": name, "op": op, "value": value}]}
    try:
        validate_definition(data)
    except DefinitionError:
        return
    assert_agree(population, data)
