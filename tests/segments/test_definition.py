"""segments.definition: every rule of the format refuses a bad definition with the path of
the bad node (the spec's `conditions[3].conditions[1].op` style) and plain words, and
nothing but DefinitionError ever comes out of the validator, whatever the input."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textpilot.common.errors import FieldError
from textpilot.segments.definition import (MAX_CONDITIONS, MAX_DEPTH, DefinitionError, definition_json_schema,
                                           validate_definition)
from textpilot.segments.nodes import Condition, EventCondition, Group, SegmentMember

SPEC_EXAMPLE = {
    "version": 1,
    "match": "all",
    "conditions": [
        {"field": "sms.status", "op": "eq", "value": "subscribed"},
        {"field": "orders.count", "op": "gte", "value": 2},
        {"field": "orders.total_spent", "op": "gt", "value": "100"},
        {"match": "any", "conditions": [
            {"field": "profile.country", "op": "in", "value": ["US", "CA"]},
            {"event": "viewed_product", "op": "gte", "value": 2, "within_days": 30, "where": {"product_id": "42"}},
        ]},
    ],
}


def root(*conditions, **extra):
    return {"version": 1, "match": "all", "conditions": list(conditions), **extra}


def problems(data, resolver=None, segment_id=None) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(data, resolver, segment_id)
    assert isinstance(caught.value, FieldError) and caught.value.status_code == 422
    return {error["path"]: error["message"] for error in caught.value.errors}


def test_the_spec_example_is_accepted_as_written():
    checked = validate_definition(SPEC_EXAMPLE)
    first, count, spent, group = checked.root.conditions
    assert isinstance(first, Condition) and (first.field.name, first.op, first.value) == ("sms.status", "eq", "subscribed")
    assert str(spent.value) == "100.00"
    assert isinstance(group, Group) and group.match == "any" and group.path == "conditions[3]"
    event = group.conditions[1]
    assert isinstance(event, EventCondition) and event.path == "conditions[3].conditions[1]"
    assert (event.event, event.value, event.window.days, event.where) == ("viewed_product", 2, 30, (("product_id", "42"),))
    assert checked.source is SPEC_EXAMPLE


@pytest.mark.parametrize("data", [{}, {"version": 1}, {"version": 1, "conditions": []}, {"version": 1, "match": "all", "conditions": []}])
def test_an_empty_definition_is_refused_never_everyone(data):
    found = problems(data)
    assert found.get("conditions") in ("is required", "is empty: a group needs at least one condition")


def test_not_an_object_and_wrong_version():
    assert problems([]) == {"": "a segment definition must be a JSON object"}
    assert problems("all") == {"": "a segment definition must be a JSON object"}
    assert problems(root({"field": "sms.status", "op": "eq", "value": "subscribed"}, version=2)) == {"version": "must be 1"}
    assert problems({"conditions": [{"field": "sms.status", "op": "eq", "value": "subscribed"}]}) == {"version": "is required"}


def test_a_nested_empty_group_names_its_path():
    data = root({"field": "sms.status", "op": "eq", "value": "subscribed"},
                {"match": "any", "conditions": [{"match": "all", "conditions": []}]})
    assert problems(data) == {"conditions[1].conditions[0].conditions": "is empty: a group needs at least one condition"}


def test_unknown_field_with_a_suggestion():
    data = root({"field": "sms.status", "op": "eq", "value": "subscribed"}, {"field": "orders.cuont", "op": "gte", "value": 1})
    assert problems(data) == {"conditions[1].field": "'orders.cuont' is not a field; did you mean orders.count?"}


def test_wrong_operator_for_the_field_at_depth():
    data = root({"field": "sms.status", "op": "eq", "value": "subscribed"},
                {"field": "sms.status", "op": "eq", "value": "never"},
                {"field": "sms.status", "op": "eq", "value": "never"},
                {"match": "any", "conditions": [{"field": "orders.count", "op": "gte", "value": 1},
                                                {"field": "orders.count", "op": "before", "value": "2026-01-01"}]})
    found = problems(data)
    assert list(found) == ["conditions[3].conditions[1].op"]
    assert found["conditions[3].conditions[1].op"].startswith("'before' is not an operator orders.count takes; it takes eq, neq")
    assert problems(root({"field": "orders.count", "op": "bigger", "value": 1}))["conditions[0].op"].startswith(
        "'bigger' is not an operator;")


@pytest.mark.parametrize("condition, path, message", [
    ({"field": "orders.count", "op": "gte", "value": "two"}, "conditions[0].value", "value must be a whole number, not text"),
    ({"field": "orders.count", "op": "gte", "value": True}, "conditions[0].value", "value must be a whole number, not true/false"),
    ({"field": "orders.count", "op": "gte", "value": 10**30}, "conditions[0].value", "value must be between 0 and 1,000,000,000"),
    ({"field": "orders.count", "op": "gte"}, "conditions[0].value", "is required for gte"),
    ({"field": "orders.total_spent", "op": "gt", "value": "1e400"}, "conditions[0].value", 'value must be an amount like "19.99"'),
    ({"field": "orders.total_spent", "op": "gt", "value": "10.001"}, "conditions[0].value", "value has more than 2 decimals"),
    ({"field": "orders.total_spent", "op": "gt", "value": 1e300}, "conditions[0].value", "value must be at most 1,000,000,000,000 in size"),
    ({"field": "sms.status", "op": "eq", "value": "maybe"}, "conditions[0].value",
     "value must be one of 'subscribed', 'unsubscribed', 'never', 'pending', not 'maybe'"),
    ({"field": "profile.city", "op": "in", "value": []}, "conditions[0].value", "value is an empty list"),
    ({"field": "profile.city", "op": "eq", "value": "Bos\x00ton"}, "conditions[0].value", "value contains the NUL character (U+0000)"),
    ({"field": "profile.city", "op": "eq", "value": "Bo\ud800"}, "conditions[0].value", "value contains a lone surrogate (broken unicode)"),
    ({"field": "profile.city", "op": "exists", "value": "x"}, "conditions[0].value", "this operator takes no value"),
    ({"field": "profile.created_at", "op": "before", "value": "2026-02-30"}, "conditions[0].value", "value is not a real date"),
    ({"field": "profile.created_at", "op": "between", "value": ["2026-03-01", "2026-01-01"]}, "conditions[0].value",
     "value starts after it ends"),
    ({"field": "profile.created_at", "op": "after", "value": "2026-01-01T10:00:00"}, "conditions[0].value",
     'value needs a time zone offset ("Z" or "+01:00"), or give a date'),
    ({"field": "profile.created_at", "op": "within_last_days", "value": 0}, "conditions[0].value",
     "value must be between 1 and 36,500"),
    ({"field": "profile.properties.score", "op": "gt", "value": float("inf")}, "conditions[0].value", "value must be a finite number"),
    ({"field": "profile.properties.score", "op": "eq", "value": {"a": 1}}, "conditions[0].value",
     "value must be text, a number or true/false, not an object"),
    ({"field": "phone.country_code", "op": "eq", "value": 999}, "conditions[0].value", "value 999 is not a country calling code"),
    ({"field": "location.within", "op": "eq", "value": {"lat": 91, "lon": 0, "radius_km": 5}}, "conditions[0].value",
     "lat must be between -90 and 90"),
    ({"field": "location.within", "op": "eq", "value": {"postal_code": "02139", "country": "US"}}, "conditions[0].value",
     "postal code areas are not available yet: profiles have no postal code; give lat, lon and radius_km instead"),
])
def test_wrong_values_name_the_value(condition, path, message):
    assert problems(root(condition)) == {path: message}


@pytest.mark.parametrize("name", ["predicted.clv", "predicted.next_order_at", "predicted.churn_risk", "orders.collection"])
def test_fields_without_data_are_refused_as_not_available_yet(name):
    op = {"predicted.next_order_at": "before", "orders.collection": "in"}.get(name, "gte")
    value = {"predicted.next_order_at": "2026-01-01", "orders.collection": ["c1"]}.get(name, 1)
    message = problems(root({"field": name, "op": op, "value": value}))["conditions[0].field"]
    assert message.startswith(f"{name} is not available yet:")


def test_windows():
    assert problems(root({"field": "profile.city", "op": "eq", "value": "x", "within_days": 30})) == {
        "conditions[0].within_days": "profile.city takes no time window"}
    assert problems(root({"field": "orders.count", "op": "gte", "value": 1, "within_days": 30, "between": ["2026-01-01", "2026-02-01"]})) == {
        "conditions[0].between": "give within_days or between, not both"}
    assert problems(root({"field": "orders.count", "op": "gte", "value": 1, "within_days": 10**12})) == {
        "conditions[0].within_days": "within_days must be between 1 and 36,500"}
    assert problems(root({"field": "orders.count", "op": "gte", "value": 1, "within_days": "30"})) == {
        "conditions[0].within_days": "must be a whole number"}
    checked = validate_definition(root({"field": "orders.count", "op": "gte", "value": 1, "between": ["2026-01-01", "2026-02-01"]}))
    assert checked.root.conditions[0].window.describe() == "from 2026-01-01 to 2026-02-01"


def test_event_conditions():
    assert problems(root({"event": "Viewed Product!", "op": "gte", "value": 1})) == {
        "conditions[0].event": "'Viewed Product!' is not an event name (lowercase letters, digits and _, like viewed_product)"}
    assert problems(root({"event": "viewed_product", "op": "contains", "value": 1}))["conditions[0].op"].startswith(
        "'contains' is not a count operator")
    assert problems(root({"event": "viewed_product", "op": "gte", "value": 1, "where": {"a\"b": 1}})) == {
        'conditions[0].where.a"b': "is not a usable property name"}
    assert problems(root({"event": "viewed_product", "op": "gte", "value": 1, "where": {"product_id": [1]}})) == {
        "conditions[0].where.product_id": "value must be text, a number or true/false, not a list"}
    assert problems(root({"event": "viewed_product", "op": "gte"})) == {"conditions[0].value": "is required"}


def test_unknown_keys_and_node_shapes_are_refused():
    assert problems(root({"field": "orders.count", "op": "gte", "value": 1, "feild": 2})) == {
        "conditions[0].feild": "is not part of a segment definition"}
    assert problems(root({"field": "orders.count", "op": "gte", "value": 1}, negate="yes")) == {"negate": "must be true or false"}
    assert problems(root({"field": "orders.count", "op": "gte", "value": 1}, match="some")) == {"match": 'must be "all" or "any"'}
    assert problems(root(42)) == {"conditions[0]": 'must be a group (with "conditions"), a field condition (with "field") or an '
                                                   'event condition (with "event")'}


def test_more_than_100_conditions_is_refused():
    many = [{"field": "orders.count", "op": "gte", "value": n} for n in range(MAX_CONDITIONS + 1)]
    assert problems(root(*many)) == {"conditions": f"has {MAX_CONDITIONS + 1} conditions; a segment takes at most {MAX_CONDITIONS}"}
    split = root({"match": "any", "conditions": many[:50]}, {"match": "any", "conditions": many[50:]})
    assert list(problems(split)) == ["conditions"]
    validate_definition(root(*many[:MAX_CONDITIONS]))


def nested(levels: int) -> dict:
    node = {"field": "orders.count", "op": "gte", "value": 1}
    for _ in range(levels - 1):
        node = {"match": "any", "conditions": [node]}
    return root(node)


def test_depth_limit_names_the_first_group_too_deep():
    validate_definition(nested(MAX_DEPTH))  # the root is level 1: MAX_DEPTH groups in all
    found = problems(nested(MAX_DEPTH + 1))
    path = ".".join(["conditions[0]"] * MAX_DEPTH)
    assert found == {path: f"groups are nested more than {MAX_DEPTH} levels deep"}
    # Far deeper than Python's stack: still a plain refusal, not a RecursionError.
    assert list(problems(nested(5000)).values()) == [f"groups are nested more than {MAX_DEPTH} levels deep"]


def test_property_and_field_names_with_junk():
    assert problems(root({"field": "profile.properties.a\x00b", "op": "exists"})) == {
        "conditions[0].field": "the field name contains the NUL character (U+0000)"}
    assert problems(root({"field": "profile.properties.a\u202eb", "op": "exists"})) == {
        "conditions[0].field": "is not a usable property name (letters, digits, space, _ - . :, up to 64)"}
    assert problems(root({"field": "profile.properties." + "k" * 65, "op": "exists"}))
    huge = "orders.count" * 100_000
    assert problems(root({"field": huge, "op": "gte", "value": 1})) == {"conditions[0].field": f"{huge[:80]!r} is not a field"}
    assert list(problems(root({"event": huge, "op": "gte", "value": 1}))) == ["conditions[0].event"]
    checked = validate_definition(root({"field": "profile.properties.Größe", "op": "exists"}))
    assert checked.root.conditions[0].field.key == "Größe"


# --- segment.member ----------------------------------------------------------------------

def test_segment_member_resolves_and_refuses_cycles():
    segments = {
        1: root({"field": "orders.count", "op": "gte", "value": 2}),
        2: root({"field": "segment.member", "op": "eq", "value": {"segment_id": 1}}),
        3: root({"field": "segment.member", "op": "eq", "value": {"segment_id": 4}}),
        4: root({"field": "sms.status", "op": "eq", "value": "subscribed"},
                {"field": "segment.member", "op": "neq", "value": {"segment_id": 3}}),
        5: root({"field": "orders.count", "op": "before", "value": 1}),
    }
    resolver = segments.get
    member = validate_definition(segments[2], resolver, segment_id=2).root.conditions[0]
    assert isinstance(member, SegmentMember) and member.segment_id == 1 and not member.negated
    assert member.definition.conditions[0].field.name == "orders.count"

    assert problems(segments[3], resolver, segment_id=3) == {"conditions[0].value.segment_id": "segment 4 is not valid: "
                                                             "conditions[1].value.segment_id: segment 3 refers back to itself (3 → 4 → 3)"}
    assert problems(root({"field": "segment.member", "op": "eq", "value": {"segment_id": 7}}), resolver, segment_id=7) == {
        "conditions[0].value.segment_id": "segment 7 refers back to itself (7 → 7)"}
    assert problems(root({"field": "segment.member", "op": "eq", "value": {"segment_id": 9}}), resolver) == {
        "conditions[0].value.segment_id": "there is no segment 9 in this store"}
    assert problems(root({"field": "segment.member", "op": "eq", "value": {"segment_id": 5}}), resolver)[
        "conditions[0].value.segment_id"].startswith("segment 5 is not valid: conditions[0].op:")
    assert problems(root({"field": "segment.member", "op": "eq", "value": {"id": 1}}), resolver) == {
        "conditions[0].value": 'must be {"segment_id": n}'}
    assert problems(root({"field": "segment.member", "op": "eq", "value": {"segment_id": 1}})) == {
        "conditions[0].field": "segment.member cannot be checked here: no other segments were given"}


def test_segment_member_chains_are_bounded_by_their_expanded_size():
    # Each segment uses the previous one 50 times: 50^3 conditions once expanded.
    segments = {1: root(*[{"field": "orders.count", "op": "gte", "value": n} for n in range(50)])}
    for pk in (2, 3):
        segments[pk] = root(*[{"field": "segment.member", "op": "eq", "value": {"segment_id": pk - 1}}] * 50)
    message = problems(segments[3], segments.get)["conditions[0].value.segment_id"]
    assert "add up to more than 1,000 conditions" in message


def test_json_schema_describes_the_format_and_the_fields():
    schema = definition_json_schema()
    json.dumps(schema)
    assert schema["properties"]["version"]["const"] == 1
    fields = {field["name"]: field for field in schema["x-fields"]}
    assert fields["orders.count"]["operators"] == ["eq", "neq", "gt", "gte", "lt", "lte", "between"]
    assert fields["predicted.clv"]["available"] is False and fields["orders.count"]["windowed"] is True
    assert "profile.properties.<key>" in fields


# --- fuzz ---------------------------------------------------------------------------------

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
json_junk = st.recursive(json_leaf, lambda children: st.lists(children, max_size=4)
                         | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20)
field_names = st.sampled_from(["orders.count", "profile.city", "sms.status", "profile.properties.vip", "location.within",
                               "segment.member", "predicted.clv", "profile.created_at", "phone.country_code", "nope", "\x00"])
ops = st.sampled_from(["eq", "neq", "in", "gte", "between", "before", "exists", "within_last_days", "contains", "??"])
condition_like = st.fixed_dictionaries({"field": field_names, "op": ops}, optional={"value": json_junk, "within_days": json_junk,
                                                                                    "between": json_junk})
event_like = st.fixed_dictionaries({"event": st.one_of(st.sampled_from(["viewed_product"]), st.text(max_size=8)), "op": ops},
                                   optional={"value": json_junk, "where": json_junk, "within_days": json_junk})
trees = st.recursive(st.one_of(condition_like, event_like, json_junk),
                     lambda children: st.fixed_dictionaries({"conditions": st.lists(children, max_size=4)},
                                                            optional={"match": st.sampled_from(["all", "any", "x"]),
                                                                      "negate": json_junk}),
                     max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=trees, version=st.sampled_from([1, 1, 1, 2, "1", None]))
def test_junk_trees_raise_only_the_validation_error(body, version):
    data = {**body, "version": version} if isinstance(body, dict) else body
    resolver = {1: root({"field": "orders.count", "op": "gte", "value": 1})}.get
    try:
        validate_definition(data, resolver)
    except DefinitionError as error:
        assert error.errors and all(isinstance(item["path"], str) and item["message"] for item in error.errors)
