"""Segment fields read from the profile row itself: its columns, its custom properties
(typed JSON), the calling code of its phone number and its location (field_types.py has the
rules every field kind shares)."""
from __future__ import annotations

import math
from typing import Any, Callable

import phonenumbers
from django.db.models import Expression, F, Q, Value
from django.db.models import lookups
from django.db.models.functions import Cos, Sin

from textpilot.segments import values as check
from textpilot.segments.field_types import PRESENCE_OPS, FALSE, Field, _no_value, negate_q, positive
from textpilot.segments.json_sql import JsonKeyTest, json_test_python


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
