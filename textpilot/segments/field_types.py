"""The kinds of segment field, each knowing, in one place, how its values are checked, how
it compiles to an ORM expression over live profiles, and how it reads the same thing from a
profile's facts in memory. fields.py makes the one registry of fields out of these; this
module has the base class and the rules every kind shares, profile_fields.py the fields of
the profile row and row_fields.py those of rows that belong to a profile (stats, orders, …).

Operators a person writes become a primitive `Test` (operators.py) by value kind (`bind`):
negative operators are exactly NOT their positive twin (`neq` = NOT `eq`, `not_in`,
`not_exists`, `not_within_last_days`), so a missing value is "not equal" to anything.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q

from textpilot.segments import values as check
from textpilot.segments.context import EvalContext, Window, instant_bounds
from textpilot.segments.operators import Test, ascii_upper

NEGATIONS = {"neq": "eq", "not_in": "in", "not_exists": "exists", "not_within_last_days": "within_last_days"}
SYMBOLS = {"eq": "=", "neq": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}

TEXT_OPS = ("eq", "neq", "in", "not_in", "contains", "exists", "not_exists")
CODE_OPS = ("eq", "neq", "in", "not_in", "exists", "not_exists")
TIME_OPS = ("before", "after", "between", "within_last_days", "not_within_last_days", "exists", "not_exists")
NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
PRESENCE_OPS = ("exists", "not_exists")

TRUE = Q(pk__isnull=False)  # on Profile: every row
FALSE = Q(pk__isnull=True)


def positive(op: str) -> tuple[str, bool]:
    return NEGATIONS.get(op, op), op in NEGATIONS


def cents(amount: Decimal) -> int:
    return int(amount * 100)


class Field:
    """One field of the format. Subclasses set the kind and implement q / holds / seen."""

    kind = "text"
    needs: frozenset[str] = frozenset({"profile"})

    def __init__(self, name: str, label: str, operators: tuple[str, ...], *, windowed: bool = False,
                 choices: tuple[str, ...] = (), unavailable: str = "", help: str = ""):
        self.name, self.label, self.operators = name, label, operators
        self.windowed, self.choices, self.unavailable, self.help = windowed, choices, unavailable, help

    # --- checking -----------------------------------------------------------------------

    def clean(self, op: str, value: Any) -> Any:
        """The value clean for `op`, or ValueProblem. Default: by value kind."""
        return clean_by_kind(self.kind, op, value, self.choices)

    # --- evaluating ---------------------------------------------------------------------

    def bind(self, cond, ctx: EvalContext) -> tuple[Test, bool]:
        return bind(self.kind, cond.op, cond.value, ctx)

    def q(self, cond, ctx: EvalContext) -> Q:
        raise NotImplementedError

    def holds(self, cond, facts) -> bool:
        raise NotImplementedError

    def seen(self, cond, facts) -> Any:
        """What explain shows as the profile's value."""
        return None

    def describe(self) -> dict:
        return {"name": self.name, "label": self.label, "kind": self.kind, "operators": list(self.operators),
                "windowed": self.windowed, "choices": list(self.choices), "available": not self.unavailable,
                "unavailable": self.unavailable, "help": self.help}


def _no_value(value):
    if value is not None:
        raise check.ValueProblem("this operator takes no value")
    return None


def clean_by_kind(kind: str, op: str, value: Any, choices: tuple[str, ...] = ()) -> Any:
    if op in PRESENCE_OPS:
        return _no_value(value)
    if kind in ("text", "code", "choice", "id"):
        def one(item, what="value"):
            if kind == "id" and isinstance(item, int) and not isinstance(item, bool):
                item = str(check.row_id(item, what))
            item = check.text(item, what)
            if kind == "choice" and item not in choices:
                raise check.ValueProblem(f"{what} must be one of {', '.join(repr(c) for c in choices)}, not {item!r}")
            return item
        return check.listed(value, one) if op in ("in", "not_in") else one(value)
    if kind == "time":
        if op in ("within_last_days", "not_within_last_days"):
            return check.days(value, "value")
        if op == "between":
            return check.pair(value, check.date_or_instant)
        return check.date_or_instant(value)
    if kind in ("count", "money"):
        one = check.count if kind == "count" else check.money
        return check.pair(value, one) if op == "between" else one(value)
    raise AssertionError(f"no value rule for kind {kind}")


def bind(kind: str, op: str, value: Any, ctx: EvalContext) -> tuple[Test, bool]:
    """The primitive test for (kind, op, clean value) and whether the field negates it."""
    op, negated = positive(op)
    if kind in ("text", "code", "choice", "id"):
        fold = kind in ("text", "code")
        prep = ascii_upper if fold else (lambda text: text)
        if op == "exists":
            return Test("exists", text=True), negated
        if op == "in":
            return Test("in", tuple(prep(item) for item in value), fold=fold), negated
        return Test(op, prep(value), fold=fold), negated
    if kind == "time":
        if op == "exists":
            return Test("exists"), negated
        if op == "within_last_days":
            return Test("range", (ctx.days_ago(value), ctx.now)), negated
        if op == "between":
            first, last = value
            start, _, is_day = instant_bounds(first, ctx)
            _, end, _ = instant_bounds(last, ctx)
            return Test("range_ho" if is_day else "range", (start, end)), negated
        start, end, is_day = instant_bounds(value, ctx)
        if op == "before":
            return Test("lt", start), negated
        return Test("gte" if is_day else "gt", end), negated  # after
    if kind in ("count", "money"):
        if op == "between":
            return Test("range", tuple(value)), negated
        return Test(op, value), negated
    raise AssertionError(f"no binding for kind {kind}")


def negate_q(q: Q, negated: bool) -> Q:
    return ~q if negated else q


def describe_test(field_name: str, cond) -> str:
    """'needs ≥ 2' style words for a condition (explain)."""
    op, value = cond.op, cond.value
    if isinstance(value, dict) and "radius_km" in value:
        where = f"within {value['radius_km']:g} km of ({value['lat']:g}, {value['lon']:g})"
        return f"needs {'not ' if op == 'neq' else ''}{where}"
    if op in SYMBOLS:
        return f"needs {SYMBOLS[op]} {_show(value)}"
    if op in ("in", "not_in"):
        return f"needs {'one of' if op == 'in' else 'none of'} {', '.join(_show(v) for v in value)}"
    if op == "between":
        return f"needs between {_show(value[0])} and {_show(value[1])}"
    if op in ("within_last_days", "not_within_last_days"):
        return f"needs {'' if op == 'within_last_days' else 'not '}within the last {value} days"
    if op in ("exists", "not_exists"):
        return "needs a value" if op == "exists" else "needs no value"
    return f"needs {op.replace('_', ' ')} {_show(value)}"


def _show(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (str, Decimal)):
        return str(value)
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


class Unavailable(Field):
    """A field of the format whose data textpilot does not have yet: refused by validation
    with `unavailable` as the reason, rather than matching nobody."""

    def q(self, cond, ctx):  # pragma: no cover - validation refuses it first
        raise AssertionError(f"{self.name} is not available")

    holds = q


def window_q(window: Window | None, ctx: EvalContext, column: str) -> Q:
    return window.test(ctx).sql(column) if window else Q()


def in_window(window: Window | None, ctx: EvalContext, at) -> bool:
    return window.test(ctx).python(at) if window else True
