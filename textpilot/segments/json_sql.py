"""Typed tests on one key of a JSON column (profile properties, event properties, a text's
media list), as ORM expressions with a fixed SQL text per database and every value a
parameter.

Why not Django's `properties__key=...` lookups: they differ between the databases in ways a
segment must not: SQLite's JSON_EXTRACT turns `true` into 1, so `{"vip": true}` would equal
`1` there and not on PostgreSQL; SQLite has no JSON containment at all; and a negated lookup
on a missing key gives NULL, which a NOT cannot flip. Here every test is typed the way JSON is
(`"1"`, `1` and `true` are three different values; `1` and `1.0` are one number), and is TRUE
or FALSE, never NULL. `json_kind` / `json_equal` are the same rules in Python.

SQLite paths are `$."key"` with the key JSON-quoted as Django stores it (keys are checked in
fields.py: no quote, backslash or control character); PostgreSQL reads the key with `->` as a
parameter.
"""
from __future__ import annotations

import json
from typing import Any

from django.db.models import BooleanField, Expression, F

COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
JSON_TESTS = ("exists", "eq", "contains", *COMPARISONS)


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value, with PostgreSQL's names."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def json_equal(a: Any, b: Any) -> bool:
    return json_kind(a) == json_kind(b) and a == b


def json_test_python(container: Any, key: str, test: str, value: Any = None) -> bool:
    """The Python twin of JsonKeyTest: `container` is the decoded column (a dict, or junk)."""
    if not isinstance(container, dict) or key not in container:
        return False
    seen = container[key]
    if test == "exists":
        return seen is not None
    if test == "eq":
        return json_equal(seen, value)
    if test == "contains":
        return isinstance(seen, list) and any(json_equal(item, value) for item in seen)
    if json_kind(seen) != "number":
        return False
    return {"gt": seen > value, "gte": seen >= value, "lt": seen < value, "lte": seen <= value}[test]


def _sqlite_type_match(kind: str, column: str = "") -> str:
    """SQL that is true when SQLite's json_type (or json_each's `type` column) is `kind`."""
    return {
        "string": "= 'text'", "number": "IN ('integer', 'real')", "array": "= 'array'",
        "true": "= 'true'", "false": "= 'false'",
    }[kind]


class JsonKeyTest(Expression):
    """`column -> key` passes `test` (see JSON_TESTS) against `value` (a JSON scalar)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str | Expression, key: str, test: str, value: Any = None):
        super().__init__(output_field=BooleanField())
        if test not in JSON_TESTS:
            raise ValueError(f"unknown JSON test {test!r}")
        if test in COMPARISONS and json_kind(value) != "number":
            raise ValueError("JSON comparisons take a number")
        self.column = F(column) if isinstance(column, str) else column
        self.key, self.test, self.value = key, test, value

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):  # pragma: no cover - every backend is below
        raise NotImplementedError(f"JSON key tests are written for SQLite and PostgreSQL, not {connection.vendor}")

    def as_postgresql(self, compiler, connection):
        column, column_params = compiler.compile(self.column)
        item = f"(({column}) -> %s)"
        item_params = [*column_params, self.key]
        if self.test == "exists":
            sql, params = f"jsonb_typeof({item}) <> 'null'", item_params
        elif self.test == "eq":
            # jsonb equality is typed already: '"1"', '1' and 'true' differ, '1' = '1.0'.
            sql, params = f"{item} = %s::jsonb", [*item_params, json.dumps(self.value)]
        elif self.test == "contains":
            sql = f"jsonb_typeof({item}) = 'array' AND {item} @> %s::jsonb"
            params = [*item_params, *item_params, json.dumps([self.value])]
        else:  # a comparison of numbers; jsonb orders numbers numerically
            sql = f"jsonb_typeof({item}) = 'number' AND {item} {COMPARISONS[self.test]} %s::jsonb"
            params = [*item_params, *item_params, json.dumps(self.value)]
        return f"COALESCE(({sql}), false)", params

    def as_sqlite(self, compiler, connection):
        column, column_params = compiler.compile(self.column)
        # The key as Django writes it into the stored JSON text (json.dumps, non-ASCII as
        # \u escapes): SQLite 3.40 matches a path label against the key's text as stored.
        path = "$." + json.dumps(self.key)
        kind = json_kind(self.value)
        typ = f"json_type({column}, %s)"
        typ_params = [*column_params, path]
        extract = f"json_extract({column}, %s)"
        if self.test == "exists":
            sql, params = f"{typ} <> 'null'", typ_params
        elif self.test == "eq" and kind == "boolean":
            sql, params = f"{typ} {_sqlite_type_match('true' if self.value else 'false')}", typ_params
        elif self.test == "eq":
            sql = f"{typ} {_sqlite_type_match(kind)} AND {extract} = %s"
            params = [*typ_params, *typ_params, self.value]
        elif self.test == "contains":
            element_kind = ("true" if self.value else "false") if kind == "boolean" else kind
            element = f"je.type {_sqlite_type_match(element_kind)}"
            element_params: list = []
            if kind != "boolean":
                element += " AND je.value = %s"
                element_params = [self.value]
            sql = (f"{typ} = 'array' AND EXISTS (SELECT 1 FROM json_each({column}, %s) AS je WHERE {element})")
            params = [*typ_params, *typ_params, *element_params]
        else:
            sql = f"{typ} {_sqlite_type_match('number')} AND {extract} {COMPARISONS[self.test]} %s"
            params = [*typ_params, *typ_params, self.value]
        return f"COALESCE(({sql}), 0)", params


class JsonArrayNotEmpty(Expression):
    """The column holds a JSON array with at least one item (a text's media URLs)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str | Expression):
        super().__init__(output_field=BooleanField())
        self.column = F(column) if isinstance(column, str) else column

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return (f"COALESCE((jsonb_typeof({column}) = 'array' AND jsonb_array_length({column}) > 0), false)",
                [*params, *params])

    def as_sqlite(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return (f"COALESCE((json_type({column}) = 'array' AND json_array_length({column}) > 0), 0)",
                [*params, *params])


def json_array_not_empty(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0
