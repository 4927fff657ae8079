"""Hypothesis strategies for valid segment definitions over population.py's vocabulary:
every field and operator of the registry, windows, event conditions with `where`, nested
groups with negation and segment.member. Values are drawn from the same small sets the
population's data is, and times sit on the window edges, so a definition matches some
profiles and misses others."""
from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from population import DAY_OFFSETS, NOW, VOCAB
from textpilot.segments.fields import FIELDS

DAYS = [d for d in DAY_OFFSETS if d >= 1]


def _date(days_ago: int) -> str:
    return (NOW - dt.timedelta(days=days_ago)).date().isoformat()


dates = st.sampled_from(DAY_OFFSETS).map(_date)
instants = st.tuples(st.sampled_from(DAY_OFFSETS), st.sampled_from([0, 1, -1, 3600])).map(
    lambda t: (NOW - dt.timedelta(days=t[0], seconds=t[1])).isoformat().replace("+00:00", "Z"))
windows = st.one_of(
    st.just({}),
    st.sampled_from(DAYS).map(lambda d: {"within_days": d}),
    st.tuples(st.sampled_from(DAY_OFFSETS), st.sampled_from(DAY_OFFSETS)).map(
        lambda t: {"between": [_date(max(t)), _date(min(t))]}),
)


def _pair(values):
    return st.tuples(values, values).map(sorted)


def _ops_with_values(field_name: str):
    """(op, value) pairs valid for the field."""
    field = FIELDS.get(field_name)
    kind = field.kind if field else "property"
    if field_name == "profile.country":
        one = st.sampled_from(["US", "CA", "GB", "DE", "us", "Ca"])
    elif field_name == "profile.gender":
        one = st.sampled_from(["female", "male", "other"])
    elif field_name == "profile.timezone":
        one = st.sampled_from(["America/New_York", "Europe/Berlin", "america/los_angeles"])
    elif field_name == "sms.status":
        one = st.sampled_from(VOCAB["sms_status"])
    elif field_name == "sms.source":
        one = st.sampled_from(VOCAB["opt_in_source"] + ["POPUP", "key"])
    elif field_name == "sms.keyword":
        one = st.sampled_from([k for k in VOCAB["keyword"] if k] + ["JoIn", "IOIN"])
    elif field_name == "orders.product":
        one = st.sampled_from(VOCAB["products"] + ["42", "nope"])
    elif field_name == "orders.last_payment_status":
        one = st.sampled_from(field.choices)
    elif field_name == "phone.country_code":
        one = st.sampled_from([1, 44, 49, 55, 7, "+1", "44"])
    elif kind in ("text", "code"):
        one = st.sampled_from([v.strip() for v in VOCAB[field_name.split(".")[1]] if v.strip()] + ["o", "bost", "EN", "pop"])
    else:
        one = None
    if kind in ("text", "code", "choice", "id", "calling_code"):
        listed = st.lists(one, min_size=1, max_size=3)
        return st.one_of(*[
            st.tuples(st.just(op), listed if op in ("in", "not_in") else (st.none() if op in ("exists", "not_exists") else one))
            for op in field.operators])
    if kind == "time":
        def time_value(op):
            if op in ("exists", "not_exists"):
                return st.none()
            if op in ("within_last_days", "not_within_last_days"):
                return st.sampled_from(DAYS)
            if op == "between":
                return st.one_of(_pair(dates), _pair(instants))
            return st.one_of(dates, instants)
        return st.one_of(*[st.tuples(st.just(op), time_value(op)) for op in field.operators])
    if kind in ("count", "money"):
        if kind == "money":
            one = st.sampled_from(VOCAB["money"] + ["0.15", "50", "-1"])
            pair = _pair(st.sampled_from([0, 10, 25, 100])).map(lambda t: [str(v) for v in t])
        elif field_name == "orders.days_since_last":
            one = st.sampled_from(DAY_OFFSETS + [2, 1000])
            pair = _pair(st.sampled_from(DAY_OFFSETS))
        else:
            one = st.integers(0, 4)
            pair = _pair(st.integers(0, 4))
        return st.one_of(*[
            st.tuples(st.just(op), pair if op == "between" else (st.none() if op in ("exists", "not_exists") else one))
            for op in field.operators])
    if kind == "flag":
        return st.tuples(st.sampled_from(["exists", "not_exists"]), st.none())
    if kind == "location":
        point = st.sampled_from([p for p in VOCAB["points"] if p])
        return st.tuples(st.sampled_from(["eq", "neq"]), st.tuples(point, st.sampled_from([1, 5, 30, 500, 20000])).map(
            lambda t: {"lat": t[0][0], "lon": t[0][1], "radius_km": t[1]}))
    raise AssertionError(field_name)


scalars = st.sampled_from([v for v in VOCAB["property_values"] if not isinstance(v, (list, dict)) and v is not None])
numbers = st.sampled_from([-3, 0, 1, 2, 2.5, 10])
property_ops = st.one_of(
    st.tuples(st.sampled_from(["eq", "neq", "contains"]), scalars),
    st.tuples(st.sampled_from(["in", "not_in"]), st.lists(scalars, min_size=1, max_size=3)),
    st.tuples(st.sampled_from(["gt", "gte", "lt", "lte"]), numbers),
    st.tuples(st.just("between"), _pair(numbers)),
    st.tuples(st.sampled_from(["exists", "not_exists"]), st.none()),
)

FIELD_NAMES = [name for name, field in FIELDS.items() if not field.unavailable and name != "segment.member"]


@st.composite
def field_conditions(draw):
    name = draw(st.sampled_from(FIELD_NAMES + ["profile.properties"] * 3))
    if name == "profile.properties":
        name = f"profile.properties.{draw(st.sampled_from(VOCAB['property_keys']))}"
        op, value = draw(property_ops)
    else:
        op, value = draw(_ops_with_values(name))
    condition = {"field": name, "op": op}
    if value is not None:
        condition["value"] = value
    field = FIELDS.get(name)
    if field is not None and field.windowed:
        condition.update(draw(windows))
    return condition


@st.composite
def event_conditions(draw):
    op = draw(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte", "between"]))
    value = draw(_pair(st.integers(0, 3))) if op == "between" else draw(st.integers(0, 3))
    condition = {"event": draw(st.sampled_from(VOCAB["events"])), "op": op, "value": value, **draw(windows)}
    where = draw(st.dictionaries(st.sampled_from(["product_id", "price"]), st.sampled_from(VOCAB["where_values"]), max_size=2))
    if where:
        condition["where"] = where
    return condition


# Other segments a definition may be a member of (the resolver of the agreement test).
SEGMENTS = {
    1: {"version": 1, "match": "all", "conditions": [{"field": "orders.count", "op": "gte", "value": 1}]},
    2: {"version": 1, "match": "any", "conditions": [
        {"field": "sms.status", "op": "eq", "value": "subscribed"},
        {"field": "segment.member", "op": "neq", "value": {"segment_id": 1}}]},
}
members = st.tuples(st.sampled_from(["eq", "neq"]), st.sampled_from(sorted(SEGMENTS))).map(
    lambda t: {"field": "segment.member", "op": t[0], "value": {"segment_id": t[1]}})

leaves = st.one_of(field_conditions(), field_conditions(), event_conditions(), members)


def _group(children):
    return st.fixed_dictionaries({"match": st.sampled_from(["all", "any"]), "conditions": st.lists(children, min_size=1, max_size=4)},
                                 optional={"negate": st.booleans()})


groups = st.recursive(leaves, _group, max_leaves=10)


@st.composite
def definitions(draw):
    body = draw(_group(groups))
    return {"version": 1, **body}
