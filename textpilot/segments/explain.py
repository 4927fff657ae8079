"""Why a profile is (or is not) in a segment: every group and condition of the definition with
whether it held for the profile and the value seen, in words ("orders.count = 1, needs ≥ 2").
It reads the matcher's facts and the matcher's rules (each condition's `held` is exactly
what matcher.node_holds says), so the explanation cannot disagree with the membership.

`explain(definition, facts)` returns plain JSON-ready data (it will back
`GET /segments/{id}/explain?profile_id=…`):

    {"matches": false, "live": true, "profile_id": 7,
     "root": {"path": "", "kind": "group", "match": "all", "negate": false, "held": false,
              "summary": "1 of 2 conditions held; all are needed",
              "conditions": [{"path": "conditions[0]", "kind": "condition", "field": "orders.count",
                              "op": "gte", "value": 2, "held": false, "seen": 1,
                              "text": "orders.count = 1, needs ≥ 2"}, …]}}

Times are shown in the store's time zone; money as text with two decimals.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from textpilot.segments.definition import Resolver, as_definition
from textpilot.segments.facts import ProfileFacts
from textpilot.segments.field_types import describe_test
from textpilot.segments.profile_fields import EARTH_KM, LocationWithin
from textpilot.segments.row_fields import AnyRow
from textpilot.segments.matcher import event_count, node_holds
from textpilot.segments.nodes import Condition, Definition, EventCondition, Group, SegmentMember

MAX_LISTED = 10  # values of a many-valued fact shown (opt-in sources, checkout totals…)


def explain(definition: Definition | dict, facts: ProfileFacts, resolver: Resolver | None = None) -> dict:
    checked = as_definition(definition, resolver)
    root = _node(checked.root, facts)
    result = {"profile_id": facts.profile_id, "live": facts.live, "matches": facts.live and root["held"], "root": root}
    if not facts.live:
        result["reason"] = ("merged into profile %s" % facts.profile.get("merged_into_id") if facts.profile.get("merged_into_id")
                            else "erased") + ": only live profiles are in segments"
    return result


def _node(node, facts: ProfileFacts) -> dict:
    if isinstance(node, Group):
        children = [_node(child, facts) for child in node.conditions]
        held_count = sum(child["held"] for child in children)
        raw = held_count == len(children) if node.match == "all" else held_count > 0
        need = "all are needed" if node.match == "all" else "one is enough"
        summary = f"{held_count} of {len(children)} condition{'s' if len(children) != 1 else ''} held; {need}"
        if node.negate:
            summary += "; the group is negated"
        return {"path": node.path, "kind": "group", "match": node.match, "negate": node.negate, "held": raw != node.negate,
                "summary": summary, "conditions": children}
    if isinstance(node, SegmentMember):
        inner = _node(node.definition, facts)
        held = inner["held"] != node.negated
        inside = "in" if inner["held"] else "not in"
        wanted = "needs not to be" if node.negated else "needs to be"
        return {"path": node.path, "kind": "segment", "segment_id": node.segment_id, "op": "neq" if node.negated else "eq",
                "held": held, "text": f"{inside} segment {node.segment_id}, {wanted} in it", "definition": inner}
    if isinstance(node, EventCondition):
        return _event(node, facts)
    assert isinstance(node, Condition)
    return _condition(node, facts)


def _condition(cond: Condition, facts: ProfileFacts) -> dict:
    field = cond.field
    seen = field.seen(cond, facts)
    shown, words = _seen(field, cond, seen, facts)
    text = f"{field.name} {words}, {describe_test(field.name, cond)}"
    if cond.window is not None:
        text += f" ({cond.window.describe()})"
    return {"path": cond.path, "kind": "condition", "field": field.name, "op": cond.op, "value": cond.raw.get("value"),
            "window": cond.window.describe() if cond.window else None, "held": node_holds(cond, facts), "seen": shown, "text": text}


def _event(cond: EventCondition, facts: ProfileFacts) -> dict:
    count = event_count(cond, facts)
    what = cond.event
    if cond.where:
        what += " where " + ", ".join(f"{key} = {_json_words(value)}" for key, value in cond.where)
    window = f" {cond.window.describe()}" if cond.window else ""
    text = f"{what}: {count} time{'s' if count != 1 else ''}{window}, {describe_test(cond.event, cond)}"
    return {"path": cond.path, "kind": "event", "event": cond.event, "op": cond.op, "value": cond.raw.get("value"),
            "window": cond.window.describe() if cond.window else None, "where": dict(cond.where),
            "held": node_holds(cond, facts), "seen": count, "text": text}


def _seen(field, cond, seen: Any, facts: ProfileFacts) -> tuple[Any, str]:
    """(JSON value, words) of what the profile has for the field."""
    if isinstance(field, LocationWithin):
        if seen is None:
            return None, "has no location"
        km = _distance_km(cond.value, seen)
        return {**seen, "distance_km": round(km, 1)}, f"is {km:.1f} km from the point"
    if isinstance(field, AnyRow):
        if field.kind == "flag":
            return len(seen), f"= {len(seen)} found"
        shown = [_json(value, facts) for value in seen[:MAX_LISTED]]
        if not seen:
            return [], "has none"
        more = f" and {len(seen) - MAX_LISTED} more" if len(seen) > MAX_LISTED else ""
        return shown, "= " + ", ".join(_words(value) for value in shown) + more
    if seen is None or seen == "":
        return None, "has no value"
    shown = _json(seen, facts)
    return shown, f"= {_words(shown)}"


def _json(value: Any, facts: ProfileFacts) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(facts.ctx.tz).isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, tuple):
        return [_json(item, facts) for item in value]
    return value


def _words(value: Any) -> str:
    return value if isinstance(value, str) else _json_words(value)


def _json_words(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _distance_km(point: dict, seen: dict) -> float:
    rad = math.pi / 180
    dphi, dlam = (seen["lat"] - point["lat"]) * rad, (seen["lon"] - point["lon"]) * rad
    a = math.sin(dphi / 2) ** 2 + math.cos(point["lat"] * rad) * math.cos(seen["lat"] * rad) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))
