"""How many events of a name a profile has (in a window, with `where` properties): the count
an event condition compares. Compiler and matcher ask `counter_for(condition)`, never the
Event table directly, so a faster source can take over without changing them: a
per-profile daily count table kept by the events hook can answer conditions with no `where`
and a whole-day window, and return itself from `counter_for` for those.

A counter has two methods: `count_expression(condition, ctx)` (an ORM expression over a
profile row, `OuterRef("pk")`, never NULL) and `count(condition, facts)` (the same number from
the matcher's facts).
"""
from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from textpilot.events.models import Event
from textpilot.segments.field_types import in_window, window_q
from textpilot.segments.json_sql import JsonKeyTest, json_test_python


class RawEventCounts:
    """Counts from the events table itself (index event_store_name_time)."""

    def events(self, cond, ctx):
        rows = Event.objects.filter(window_q(cond.window, ctx, "occurred_at"), store_id=ctx.store_id, profile=OuterRef("pk"),
                                    name=cond.event)
        for key, value in cond.where:
            rows = rows.filter(JsonKeyTest("properties", key, "eq", value))
        return rows

    def count_expression(self, cond, ctx):
        counted = self.events(cond, ctx).order_by().values("profile").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    def any_expression(self, cond, ctx):
        """EXISTS form for "at least one" (a semi-join, cheaper than counting)."""
        return Exists(self.events(cond, ctx))

    def count(self, cond, facts) -> int:
        ctx = facts.ctx
        return sum(1 for name, occurred_at, properties in facts.need("events")
                   if name == cond.event and in_window(cond.window, ctx, occurred_at)
                   and all(json_test_python(properties, key, "eq", value) for key, value in cond.where))


RAW = RawEventCounts()


def counter_for(cond) -> RawEventCounts:
    return RAW


def count_q(cond, test, ctx) -> Q:
    """Q over profiles: the condition's event count passes `test` (a positive Test)."""
    counter = counter_for(cond)
    at_least_one = (test.op == "gte" and test.value == 1) or (test.op == "gt" and test.value == 0)
    none = (test.op == "lt" and test.value == 1) or (test.op in ("lte", "eq") and test.value == 0)
    if at_least_one:
        return Q(counter.any_expression(cond, ctx))
    if none:
        return ~Q(counter.any_expression(cond, ctx))
    return test.sql(counter.count_expression(cond, ctx))
