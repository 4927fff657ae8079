"""The kinds of segment field, each knowing, in one place, how its values are checked, how
it compiles to an ORM expression over live profiles, and how it reads the same thing from a
profile's facts in memory. fields.py makes the one registry of fields out of these.

Operators a person writes become a primitive `Test` (operators.py) by value kind (`bind`):
negative operators are exactly NOT their positive twin (`neq` = NOT `eq`, `not_in`,
`not_exists`, `not_within_last_days`), so a missing value is "not equal" to anything.
"""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Callable

from django.db.models import (BigIntegerField, Count, DateTimeField, Exists, Expression, F, IntegerField, Max, Min, OuterRef, Q,
                              Subquery, Sum, Value)
from django.db.models.functions import Cast, Coalesce, Cos, Round, Sin

from textpilot.segments import values as check
from textpilot.segments.context import EvalContext, Window, instant_bounds
from textpilot.segments.json_sql import JsonKeyTest, json_test_python
from textpilot.segments.operators import Test, ascii_upper, ratio_python, ratio_sql

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


# --- profile columns ---------------------------------------------------------------------

class ProfileColumn(Field):
    """A column of the profile (or an expression over its columns)."""

    def __init__(self, name, label, operators, *, kind: str, column: str, sql_value: Callable[[], Expression] | None = None,
                 read: Callable[[dict], Any] | None = None, **options):
        super().__init__(name, label, operators, **options)
        self.kind, self.column = kind, column
        self._sql_value, self._read = sql_value, read

    def q(self, cond, ctx):
        test, negated = self.bind(cond, ctx)
        return negate_q(test.sql(self._sql_value() if self._sql_value else self.column), negated)

    def seen(self, cond, facts):
        profile = facts.need("profile")
        return self._read(profile) if self._read else profile.get(self.column)

    def holds(self, cond, facts):
        test, negated = self.bind(cond, facts.ctx)
        return test.python(self.seen(cond, facts)) != negated


class PhoneCountryCode(Field):
    """The calling code of the profile's E.164 number. Calling codes are prefix-free (no code
    is the start of another), so "+44…" is exactly the numbers of code 44."""

    kind = "calling_code"

    def clean(self, op, value):
        if op in PRESENCE_OPS:
            return _no_value(value)
        import phonenumbers

        def one(item, what="value"):
            if isinstance(item, str) and item.strip().lstrip("+").isdigit():
                item = int(item.strip().lstrip("+"))
            code = check.integer(item, 1, 999, what)
            if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                raise check.ValueProblem(f"{what} {code} is not a country calling code")
            return code
        return check.listed(value, one) if op in ("in", "not_in") else one(value)

    def _codes(self, cond) -> tuple[int, ...]:
        return (cond.value,) if cond.op in ("eq", "neq") else tuple(cond.value)

    def q(self, cond, ctx):
        op, negated = positive(cond.op)
        if op == "exists":
            return negate_q(Q(phone__isnull=False) & ~Q(phone=""), negated)
        match = FALSE
        for code in self._codes(cond):
            match |= Q(phone__startswith=f"+{code}")
        return negate_q(Q(phone__isnull=False) & match, negated)

    def seen(self, cond, facts):
        import phonenumbers

        phone = facts.need("profile").get("phone") or ""
        for length in (1, 2, 3):
            digits = phone[1:1 + length]
            if phone.startswith("+") and digits.isdigit() and int(digits) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                return int(digits)
        return None

    def holds(self, cond, facts):
        op, negated = positive(cond.op)
        phone = facts.need("profile").get("phone")
        if op == "exists":
            result = bool(phone)
        else:
            result = bool(phone) and any(phone.startswith(f"+{code}") for code in self._codes(cond))
        return result != negated


class JsonProperty(Field):
    """`profile.properties.<key>`: typed JSON (json_sql.py), one field per key."""

    kind = "property"

    def __init__(self, key: str):
        super().__init__(f"profile.properties.{key}", f"Property “{key}”",
                         ("eq", "neq", "in", "not_in", "contains", "exists", "not_exists", "gt", "gte", "lt", "lte", "between"))
        self.key = key

    def clean(self, op, value):
        if op in PRESENCE_OPS:
            return _no_value(value)
        if op in ("in", "not_in"):
            return check.listed(value, check.json_scalar)
        if op in ("gt", "gte", "lt", "lte"):
            return check.number(value)
        if op == "between":
            first, last = check.pair(value, check.number)
            return first, last
        return check.json_scalar(value)

    def _parts(self, cond) -> tuple[list[tuple[str, Any]], bool]:
        """The JSON tests that are ORed (for `in`) or ANDed (`between`), and the negation."""
        op, negated = positive(cond.op)
        if op == "in":
            return [("eq", item) for item in cond.value], negated
        if op == "between":
            return [("gte", cond.value[0]), ("lte", cond.value[1])], negated
        return [(op, cond.value)], negated

    def q(self, cond, ctx):
        parts, negated = self._parts(cond)
        tests = [Q(JsonKeyTest("properties", self.key, test, value)) for test, value in parts]
        combined = tests[0]
        for item in tests[1:]:
            combined = (combined & item) if cond.op == "between" else (combined | item)
        return negate_q(combined, negated)

    def seen(self, cond, facts):
        properties = facts.need("profile").get("properties")
        return properties.get(self.key) if isinstance(properties, dict) else None

    def holds(self, cond, facts):
        parts, negated = self._parts(cond)
        properties = facts.need("profile").get("properties")
        results = [json_test_python(properties, self.key, test, value) for test, value in parts]
        result = all(results) if cond.op == "between" else any(results)
        return result != negated


EARTH_KM = 6371.0088  # mean radius
DEG = math.pi / 180  # not math.radians / SQL RADIANS(): one constant both sides multiply by


class LocationWithin(Field):
    """`location.within` {lat, lon, radius_km}: within that distance (haversine on a sphere)
    of the point. The SQL keeps a bounding box first (an index can use it) and then the
    exact test; memory runs the same two tests with the same float operations in the same
    order, so both sides agree to the last bit. The haversine compare skips asin:
    d <= r  <=>  a <= sin²(r / 2R)."""

    kind = "location"

    def clean(self, op, value):
        if not isinstance(value, dict):
            raise check.ValueProblem('value must be an object like {"lat": 40.7, "lon": -74.0, "radius_km": 25}')
        if "postal_code" in value:
            raise check.ValueProblem("postal code areas are not available yet: profiles have no postal code; "
                                     "give lat, lon and radius_km instead")
        unknown = sorted(set(value) - {"lat", "lon", "radius_km"})
        if unknown:
            raise check.ValueProblem(f"value has unknown key {unknown[0]!r}; it takes lat, lon and radius_km")
        missing = [key for key in ("lat", "lon", "radius_km") if key not in value]
        if missing:
            raise check.ValueProblem(f"value needs {missing[0]}")
        lat, lon, radius = (check.number(value[key], key) for key in ("lat", "lon", "radius_km"))
        if not -90 <= lat <= 90:
            raise check.ValueProblem("lat must be between -90 and 90")
        if not -180 <= lon <= 180:
            raise check.ValueProblem("lon must be between -180 and 180")
        if not 0 < radius <= 20000:
            raise check.ValueProblem("radius_km must be more than 0 and at most 20,000")
        return {"lat": float(lat), "lon": float(lon), "radius_km": float(radius)}

    @staticmethod
    def geometry(value) -> dict:
        lat, lon, radius = value["lat"], value["lon"], value["radius_km"]
        angle = radius / EARTH_KM
        dlat = angle / DEG
        box = {"lat": (lat - dlat, lat + dlat), "lon": None}
        if abs(lat) + dlat < 90:
            dlon = math.asin(min(1.0, math.sin(angle) / math.cos(lat * DEG))) / DEG
            if -180 <= lon - dlon and lon + dlon <= 180:
                box["lon"] = (lon - dlon, lon + dlon)
        half = math.sin(angle / 2)
        return {"phi": lat * DEG, "lam": lon * DEG, "cos_phi": math.cos(lat * DEG), "limit": half * half, "box": box}

    def q(self, cond, ctx):
        geo = self.geometry(cond.value)
        lat, lon = F("latitude"), F("longitude")
        s1 = Sin((lat * Value(DEG) - Value(geo["phi"])) / Value(2.0))
        s2 = Sin((lon * Value(DEG) - Value(geo["lam"])) / Value(2.0))
        a = s1 * s1 + (Value(geo["cos_phi"]) * Cos(lat * Value(DEG))) * (s2 * s2)
        from django.db.models import lookups

        box = geo["box"]
        within = Q(latitude__isnull=False, longitude__isnull=False, latitude__gte=box["lat"][0], latitude__lte=box["lat"][1])
        if box["lon"]:
            within &= Q(longitude__gte=box["lon"][0], longitude__lte=box["lon"][1])
        within &= Q(lookups.LessThanOrEqual(a, Value(geo["limit"])))
        return negate_q(within, cond.op == "neq")

    def seen(self, cond, facts):
        profile = facts.need("profile")
        if profile.get("latitude") is None or profile.get("longitude") is None:
            return None
        return {"lat": profile["latitude"], "lon": profile["longitude"]}

    def holds(self, cond, facts):
        geo, point = self.geometry(cond.value), self.seen(cond, facts)
        result = False
        if point is not None:
            lat, lon, box = point["lat"], point["lon"], geo["box"]
            result = box["lat"][0] <= lat <= box["lat"][1] and (not box["lon"] or box["lon"][0] <= lon <= box["lon"][1])
            if result:
                s1 = math.sin((lat * DEG - geo["phi"]) / 2.0)
                s2 = math.sin((lon * DEG - geo["lam"]) / 2.0)
                result = s1 * s1 + (geo["cos_phi"] * math.cos(lat * DEG)) * (s2 * s2) <= geo["limit"]
        return result != (cond.op == "neq")


class Unavailable(Field):
    """A field of the format whose data textpilot does not have yet: refused by validation
    with `unavailable` as the reason, rather than matching nobody."""

    def q(self, cond, ctx):  # pragma: no cover - validation refuses it first
        raise AssertionError(f"{self.name} is not available")

    holds = q


# --- rows that belong to a profile -------------------------------------------------------

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


def window_q(window: Window | None, ctx: EvalContext, column: str) -> Q:
    return window.test(ctx).sql(column) if window else Q()


def in_window(window: Window | None, ctx: EvalContext, at) -> bool:
    return window.test(ctx).python(at) if window else True


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
            from django.db.models import lookups

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


def correlated(queryset, outer: str = "pk"):
    return queryset.filter(profile=OuterRef(outer))
