"""The in-memory twin of the compiler, for flows: `matches(definition, facts)` says whether
one profile (its facts, loaded by facts.load_facts, many profiles at a time) is in the
segment, with the same rules as the SQL: every field's `holds` (fields.py) is the Python
side of the same test its `q` compiles. A profile that is not live (merged or erased) is in
no segment."""
from __future__ import annotations

from textpilot.segments import event_counts
from textpilot.segments.definition import Resolver, as_definition
from textpilot.segments.facts import ProfileFacts
from textpilot.segments.field_types import bind
from textpilot.segments.nodes import Condition, Definition, EventCondition, Group, SegmentMember


def matches(definition: Definition | dict, facts: ProfileFacts, resolver: Resolver | None = None) -> bool:
    checked = as_definition(definition, resolver)
    return facts.live and node_holds(checked.root, facts)


def node_holds(node, facts: ProfileFacts) -> bool:
    if isinstance(node, Group):
        results = (node_holds(child, facts) for child in node.conditions)
        held = all(results) if node.match == "all" else any(results)
        return held != node.negate
    if isinstance(node, SegmentMember):
        return node_holds(node.definition, facts) != node.negated
    if isinstance(node, EventCondition):
        return event_holds(node, facts)
    assert isinstance(node, Condition)
    return node.field.holds(node, facts)


def event_count(cond: EventCondition, facts: ProfileFacts) -> int:
    return event_counts.counter_for(cond).count(cond, facts)


def event_holds(cond: EventCondition, facts: ProfileFacts) -> bool:
    test, negated = bind("count", cond.op, cond.value, facts.ctx)
    return test.python(event_count(cond, facts)) != negated
