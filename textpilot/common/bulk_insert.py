"""Fast inserts of many rows of already-validated values, on SQLite and PostgreSQL.

Django's bulk_create spends most of its time building model instances and preparing every
value through the field machinery; on the hot paths (event intake, the dispatcher's attempt
records, the simulated carrier's log) that cost more than the database itself. Callers pass
plain tuples in the order of `columns`; JSON columns take already-serialised JSON text.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

SQLITE_ROWS_PER_STATEMENT = 500


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple], *,
                json_columns: Sequence[str] = (), ignore_conflicts: bool = False) -> None:
    """INSERT the rows (no RETURNING). `columns` are column names (attnames, e.g. `store_id`)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _insert_postgresql(model, columns, rows, json_columns, ignore_conflicts)
    else:
        _insert_values(model, columns, rows, ignore_conflicts)


def _fields(model, columns):
    by_column = {field.column: field for field in model._meta.concrete_fields}
    return [by_column[name] for name in columns]


def _insert_postgresql(model, columns, rows, json_columns, ignore_conflicts) -> None:
    # One array per column through unnest: a parameter per column whatever the row count, so
    # psycopg doesn't re-parse a query with thousands of placeholders each time.
    casts = []
    for field in _fields(model, columns):
        casts.append("text[]" if field.column in json_columns else f"{field.db_type(connection)}[]")
    selected = ", ".join(f"c{i}::jsonb" if name in json_columns else f"c{i}" for i, name in enumerate(columns))
    sql = (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
           f"({', '.join(connection.ops.quote_name(c) for c in columns)}) "
           f"SELECT {selected} FROM unnest({', '.join(f'%s::{cast}' for cast in casts)}) "
           f"AS t({', '.join(f'c{i}' for i in range(len(columns)))})"
           + (" ON CONFLICT DO NOTHING" if ignore_conflicts else ""))
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*rows)])


def _insert_values(model, columns, rows, ignore_conflicts) -> None:
    ops = connection.ops
    adapters = []
    for field in _fields(model, columns):
        if isinstance(field, models.DateTimeField):
            adapters.append(ops.adapt_datetimefield_value)
        elif isinstance(field, models.DecimalField):
            adapters.append(lambda value, f=field: ops.adapt_decimalfield_value(value, f.max_digits, f.decimal_places))
        else:
            adapters.append(None)
    adapted = [i for i, adapter in enumerate(adapters) if adapter is not None]
    head = (f"{'INSERT OR IGNORE' if ignore_conflicts else 'INSERT'} INTO {ops.quote_name(model._meta.db_table)} "
            f"({', '.join(ops.quote_name(c) for c in columns)}) VALUES ")
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), SQLITE_ROWS_PER_STATEMENT):
            chunk = rows[start:start + SQLITE_ROWS_PER_STATEMENT]
            params = []
            for row in chunk:
                if adapted:
                    row = list(row)
                    for i in adapted:
                        if row[i] is not None:
                            row[i] = adapters[i](row[i])
                params.extend(row)
            cursor.execute(head + ", ".join([row_sql] * len(chunk)), params)
