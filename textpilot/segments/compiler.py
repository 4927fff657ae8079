"""A checked segment definition -> one Django ORM filter over the live profiles of a store.

`segment_queryset(store, definition)` is the profiles in the segment: one parameterised
query (the filter is a tree of Q objects, EXISTS and scalar subqueries; every value is a
parameter, no SQL is put together from values), the same on SQLite and PostgreSQL. Live
means not merged into another profile and not erased (the counting rule of the spec).

`compile_definition` returns just the Q, for callers that add their own base (membership
refreshes of a few profiles, counts, samples). `segment.member` is compiled inline: the
other segment's definition, checked by the validator with the cycle rule, is part of the
tree (a membership table can take over here later without changing callers).

Every condition compiles to a two-valued predicate (TRUE or FALSE, never NULL; see
operators.py), so negated groups are exact.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from textpilot.profiles.models import Profile
from textpilot.segments import event_counts
from textpilot.segments.context import EvalContext
from textpilot.segments.definition import Resolver, as_definition
from textpilot.segments.field_types import FALSE, TRUE, bind
from textpilot.segments.nodes import Condition, Definition, EventCondition, Group, SegmentMember


def live_profiles(store) -> QuerySet[Profile]:
    return Profile.objects.filter(store_id=store.pk, merged_into__isnull=True, erased_at__isnull=True)


def compile_definition(store, definition: Definition | dict, now: dt.datetime | None = None,
                       resolver: Resolver | None = None, ctx: EvalContext | None = None) -> Q:
    """The Q (over Profile) of the definition; raises DefinitionError for invalid JSON."""
    checked = as_definition(definition, resolver)
    return compile_node(checked.root, ctx or EvalContext.for_store(store, now))


def segment_queryset(store, definition: Definition | dict, now: dt.datetime | None = None,
                     resolver: Resolver | None = None) -> QuerySet[Profile]:
    """The live profiles of `store` in the segment."""
    return live_profiles(store).filter(compile_definition(store, definition, now, resolver))


def compile_node(node, ctx: EvalContext) -> Q:
    if isinstance(node, Group):
        parts = [compile_node(child, ctx) for child in node.conditions]
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if node.match == "all" else (combined | part)
        return ~combined if node.negate else combined
    if isinstance(node, SegmentMember):
        inner = compile_node(node.definition, ctx)
        return ~inner if node.negated else inner
    if isinstance(node, EventCondition):
        return compile_event(node, ctx)
    assert isinstance(node, Condition)
    return node.field.q(node, ctx)


def compile_event(cond: EventCondition, ctx: EvalContext) -> Q:
    test, negated = bind("count", cond.op, cond.value, ctx)
    q = event_counts.count_q(cond, test, ctx)
    return ~q if negated else q


__all__ = ["FALSE", "TRUE", "compile_definition", "compile_node", "live_profiles", "segment_queryset"]
