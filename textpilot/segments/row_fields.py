"""Segment fields read from rows that belong to a profile: its customer stats (one row, a
missing one reads as zeros), aggregates of its orders in a window, and "has a row that…"
(opt-in evidence, order lines, checkouts, texts, clicks). field_types.py has the shared rules."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

from django.db.models import BigIntegerField, Count, DateTimeField, Exists, F, IntegerField, Max, Min, Q, Subquery, Sum, Value
from django.db.models import lookups
from django.db.models.functions import Cast, Coalesce, Round

from textpilot.segments import values as check
from textpilot.segments.context import EvalContext, Window
from textpilot.segments.field_types import FALSE, PRESENCE_OPS, TRUE, Field, _no_value, cents, in_window, negate_q, positive
from textpilot.segments.operators import Test, ratio_python, ratio_sql
from textpilot.segments.profile_fields import ProfileColumn


class OneRowPerProfile(Field):
    """A value from a table with at most one row per profile (customer stats), where a
    missing row reads as `default`. If the default passes the test the profile passes unless
    its row fails: NOT EXISTS (row failing); otherwise EXISTS (row passing). Semi-joins only,
    which the (store, column) indexes serve."""

    def __init__(self, name, label, operators, *, kind, column, default, rows: Callable[[EvalContext], Any],
                 read: Callable[[Any], Any], needs: frozenset[str], **options):
        super().__init__(name, label, operators, **options)
        self.kind, self.column, self.default, self._rows, self._read = kind, column, default, rows, read
        self.needs = needs | {"profile"}

    def row_test(self, cond, ctx) -> tuple[Test, bool]:
        return self.bind(cond, ctx)

    def q(self, cond, ctx):
        test, negated = self.row_test(cond, ctx)
        rows = self._rows(ctx)
        if test.python(self.default):
            q = ~Exists(rows.filter(~test.sql(self.column)))
        else:
            q = Exists(rows.filter(test.sql(self.column)))
        return negate_q(q, negated)

    def seen(self, cond, facts):
        value = self._read(facts)
        return self.default if value is None else value

    def holds(self, cond, facts):
        test, negated = self.bind(cond, facts.ctx)
        return test.python(self.seen(cond, facts)) != negated


class DaysSince(OneRowPerProfile):
    """Whole days since a timestamp (floor), compared as a test on the timestamp itself:
    days >= k  <=>  at <= now - k days (exact, no date arithmetic in SQL)."""

    kind = "count"

    def clean(self, op, value):
        one = (lambda item, what="value": check.integer(item, 0, check.MAX_DAYS, what))
        return check.pair(value, one) if op == "between" else one(value)

    def row_test(self, cond, ctx):
        op, negated = positive(cond.op)
        k = cond.value

        def ago(days):
            return ctx.now - dt.timedelta(days=days)
        if op == "gte":
            return Test("lte", ago(k)), negated
        if op == "gt":
            return Test("lte", ago(k + 1)), negated
        if op == "lte":
            return Test("gt", ago(k + 1)), negated
        if op == "lt":
            return Test("gt", ago(k)), negated
        if op == "eq":
            return Test("range_oc", (ago(k + 1), ago(k))), negated
        first, last = k  # between
        return Test("range_oc", (ago(last + 1), ago(first))), negated

    def seen(self, cond, facts):
        at = self._read(facts)
        return None if at is None else (facts.ctx.now - at).days



class AnyRow(Field):
    """True when the profile has a row (an opt-in, an order line, a checkout, a text, a
    click) that is in the window and whose `column` passes the test. For a field without a
    text column, `exists` is "has such a row". Negative operators are NOT that.

    `rows(ctx, window, valued)` is the correlated queryset of the profile's rows and
    `facts(facts, window, valued)` the same rows' `column` values from the matcher's facts;
    `valued` says a value test follows (money tests keep only rows in the store's currency)."""

    def __init__(self, name, label, operators, *, kind, rows: Callable[[EvalContext, Window | None, bool], Any],
                 column: str | None, facts: Callable[[Any, Window | None, bool], list], needs: frozenset[str], **options):
        super().__init__(name, label, operators, **options)
        self.kind, self._rows, self.column, self._facts = kind, rows, column, facts
        self.needs = needs | {"profile"}

    def _test(self, cond, ctx):
        if self.column is None or (cond.op in PRESENCE_OPS and self.kind not in ("text", "code", "choice", "id")):
            return None, cond.op == "not_exists"
        return self.bind(cond, ctx)

    def clean(self, op, value):
        if self.column is None:
            return _no_value(value)
        return super().clean(op, value)

    def q(self, cond, ctx):
        test, negated = self._test(cond, ctx)
        rows = self._rows(ctx, cond.window, test is not None)
        if test is not None:
            rows = rows.filter(test.sql(self.column))
        return negate_q(Exists(rows), negated)

    def seen(self, cond, facts):
        test, _ = self._test(cond, facts.ctx)
        return self._facts(facts, cond.window, test is not None)

    def holds(self, cond, facts):
        test, negated = self._test(cond, facts.ctx)
        found = self._facts(facts, cond.window, test is not None)
        result = bool(found) if test is None else any(test.python(value) for value in found)
        return result != negated


class OrderAggregate(Field):
    """An order figure (count, spent, average, first/last order) over the counted orders in
    the store's currency. Without a window it is the customer stats row (OneRowPerProfile);
    with one, an aggregate subquery over the orders placed in it. Money is summed in integer
    cents (SQLite sums decimals as floats); the average is compared without dividing."""

    def __init__(self, name, label, operators, *, kind, stats: OneRowPerProfile, measure: str,
                 orders: Callable[[EvalContext, Window], Any], **options):
        super().__init__(name, label, operators, windowed=True, **options)
        self.kind, self.stats, self.measure, self._orders = kind, stats, measure, orders
        self.needs = stats.needs | {"orders"}

    def _window_test(self, cond, ctx):
        test, negated = self.bind(cond, ctx)
        if self.kind == "money":  # compare cents with cents
            scale = (lambda v: tuple(cents(x) for x in v)) if isinstance(test.value, tuple) else cents
            test = Test(test.op, scale(test.value))
        return test, negated

    def q(self, cond, ctx):
        if cond.window is None:
            return self.stats.q(cond, ctx)
        test, negated = self._window_test(cond, ctx)
        orders = self._orders(ctx, cond.window).order_by().values("profile")

        def aggregate(expression, output):
            return Subquery(orders.annotate(figure=expression).values("figure"), output_field=output)
        count = Coalesce(aggregate(Count("pk"), IntegerField()), Value(0))
        spent = Coalesce(aggregate(Sum(Cast(Round(F("total") * Value(100)), BigIntegerField())), BigIntegerField()), Value(0))
        if self.measure == "count":
            q = test.sql(count)
        elif self.measure == "spent":
            q = test.sql(spent)
        elif self.measure == "average":
            none = Q(lookups.Exact(count, 0))
            q = (none & (TRUE if test.python(0) else FALSE)) | (~none & ratio_sql(test, spent, count))
        else:
            q = test.sql(aggregate(Min("placed_at") if self.measure == "first" else Max("placed_at"), DateTimeField()))
        return negate_q(q, negated)

    def window_orders(self, cond, facts) -> list:
        ctx = facts.ctx
        return [order for order in facts.need("orders")
                if order.counted and order.currency == ctx.currency and in_window(cond.window, ctx, order.placed_at)]

    def seen(self, cond, facts):
        if cond.window is None:
            return self.stats.seen(cond, facts)
        orders = self.window_orders(cond, facts)
        if self.measure == "count":
            return len(orders)
        spent = sum((order.total for order in orders), Decimal("0.00"))
        if self.measure == "spent":
            return spent
        if self.measure == "average":
            return (spent / len(orders)).quantize(Decimal("0.01")) if orders else Decimal("0.00")
        times = [order.placed_at for order in orders]
        return (min(times) if self.measure == "first" else max(times)) if times else None

    def holds(self, cond, facts):
        if cond.window is None:
            return self.stats.holds(cond, facts)
        test, negated = self._window_test(cond, facts.ctx)
        orders = self.window_orders(cond, facts)
        if self.measure == "count":
            result = test.python(len(orders))
        elif self.measure in ("spent", "average"):
            total = sum(cents(order.total) for order in orders)
            if self.measure == "spent":
                result = test.python(total)
            else:
                result = ratio_python(test, total, len(orders)) if orders else test.python(0)
        else:
            result = test.python(self.seen(cond, facts))
        return result != negated


class LatestOrderValue(ProfileColumn):
    """A column of the profile's latest order (placed_at, then id), any state."""

    def __init__(self, name, label, operators, *, kind, sql_value, read, **options):
        super().__init__(name, label, operators, kind=kind, column="", sql_value=sql_value, **options)
        self._latest = read
        self.needs = frozenset({"profile", "orders"})

    def seen(self, cond, facts):
        orders = facts.need("orders")
        return self._latest(orders[0]) if orders else None
