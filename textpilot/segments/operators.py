"""The comparisons a segment condition makes, each written twice: as an ORM expression (for the
compiler) and as a Python predicate (for the in-memory matcher). Keeping both forms side by
side, in one small module, is what lets the SQL and the in-memory answers agree; the
hypothesis test in tests/segments holds them to it on SQLite and PostgreSQL.

A field (fields.py) turns the operator a person wrote (`before`, `within_last_days`,
`days_since_last gte 30`, …) into one of these primitive `Test`s over a value it can read:

- `eq`, `in`, `contains` (text: substring), `exists`;
- `gt`, `gte`, `lt`, `lte`;
- `range` (lo <= x <= hi), `range_ho` (lo <= x < hi), `range_oc` (lo < x <= hi).

Two-valued logic throughout: a missing value (SQL NULL, Python None) fails every positive
test, and every SQL form is guarded so it is TRUE or FALSE, never NULL. That makes negation
exact: `neq` is NOT `eq`, so a profile with no city is "not in Boston", on both sides.

Text compares ASCII-case-insensitively when `fold` is set (city, source, keyword): both
sides are upper-cased in the ASCII range only (`AsciiUpper`), because the databases disagree
beyond it (PostgreSQL upper-cases 'ı' to 'I', SQLite leaves it) and Python agrees with neither.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Expression, F, Func, Q, TextField, Value
from django.db.models import lookups

POSITIVE = ("eq", "in", "contains", "exists", "gt", "gte", "lt", "lte", "range", "range_ho", "range_oc")

_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def ascii_upper(text: str) -> str:
    return text.translate(_ASCII_UPPER)


class AsciiUpper(Func):
    """Upper-cases a-z only, on both databases (SQLite's UPPER already does exactly that)."""

    function = "UPPER"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template="TRANSLATE(%(expressions)s, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')",
                           **extra)


def _expr(lhs) -> Expression:
    return F(lhs) if isinstance(lhs, str) else lhs


@dataclass(frozen=True)
class Test:
    """One primitive comparison against a constant, already bound to the evaluation context
    (a window's start is a datetime here, a money amount is cents where the field says so)."""

    op: str
    value: Any = None
    fold: bool = False  # ASCII-case-insensitive text
    text: bool = False  # `exists` also needs a non-empty string

    def __post_init__(self):
        if self.op not in POSITIVE:
            raise ValueError(f"unknown primitive test {self.op!r}")

    # --- Python ------------------------------------------------------------------------

    def python(self, seen: Any) -> bool:
        if seen is None:
            return False
        op, value = self.op, self.value
        if op == "exists":
            return seen != "" if self.text else True
        if self.fold and isinstance(seen, str):
            seen = ascii_upper(seen)
        if op == "eq":
            return seen == value
        if op == "in":
            return seen in value
        if op == "contains":
            return isinstance(seen, str) and value in seen
        if op == "gt":
            return seen > value
        if op == "gte":
            return seen >= value
        if op == "lt":
            return seen < value
        if op == "lte":
            return seen <= value
        lo, hi = value
        if op == "range":
            return lo <= seen <= hi
        if op == "range_ho":
            return lo <= seen < hi
        return lo < seen <= hi  # range_oc

    # --- SQL ---------------------------------------------------------------------------

    def sql(self, lhs: str | Expression) -> Q:
        """The test as a Q over the model `lhs` belongs to (a field path or an expression)."""
        expr = _expr(lhs)
        present = Q(lookups.IsNull(expr, False))
        op, value = self.op, self.value
        if op == "exists":
            return present & ~Q(lookups.Exact(expr, Value(""))) if self.text else present
        if self.fold:
            expr = AsciiUpper(expr)
        if op == "eq":
            return present & Q(lookups.Exact(expr, value))
        if op == "in":
            return present & Q(lookups.In(expr, list(value)))
        if op == "contains":
            return present & Q(lookups.Contains(expr, value))
        single = {"gt": lookups.GreaterThan, "gte": lookups.GreaterThanOrEqual,
                  "lt": lookups.LessThan, "lte": lookups.LessThanOrEqual}
        if op in single:
            return present & Q(single[op](expr, value))
        lo, hi = value
        low = lookups.GreaterThan if op == "range_oc" else lookups.GreaterThanOrEqual
        high = lookups.LessThan if op == "range_ho" else lookups.LessThanOrEqual
        return present & Q(low(expr, lo)) & Q(high(expr, hi))


def ratio_sql(test: Test, numerator: Expression, denominator: Expression) -> Q:
    """`numerator / denominator <op> value` without dividing (exact on both databases, where
    SQLite would divide integers or floats): for a positive denominator it is
    `numerator <op> value * denominator`. The caller handles a zero denominator."""
    op, value = test.op, test.value

    def scaled(constant):
        # A decimal constant: PostgreSQL multiplies in numeric (no bigint overflow for a
        # huge amount times a count); SQLite's integers turn to floats only past 2^63.
        return denominator * Value(Decimal(constant))

    single = {"eq": lookups.Exact, "gt": lookups.GreaterThan, "gte": lookups.GreaterThanOrEqual,
              "lt": lookups.LessThan, "lte": lookups.LessThanOrEqual}
    if op in single:
        return Q(single[op](numerator, scaled(value)))
    if op in ("range", "range_ho", "range_oc"):
        lo, hi = value
        low = lookups.GreaterThan if op == "range_oc" else lookups.GreaterThanOrEqual
        high = lookups.LessThan if op == "range_ho" else lookups.LessThanOrEqual
        return Q(low(numerator, scaled(lo))) & Q(high(numerator, scaled(hi)))
    raise ValueError(f"{op} is not a comparison of a ratio")


def ratio_python(test: Test, numerator: int, denominator: int) -> bool:
    """The Python twin of ratio_sql (denominator > 0)."""
    op, value = test.op, test.value
    if op in ("eq", "gt", "gte", "lt", "lte"):
        return Test(op, value * denominator).python(numerator)
    lo, hi = value
    return Test(op, (lo * denominator, hi * denominator)).python(numerator)
