"""Writing many rows fast on SQLite and PostgreSQL: the one bulk-write module.

Django's bulk_create builds a model instance per row, prepares every value through the field
machinery and, on SQLite, caps a statement at 999 parameters; on the hot paths (event intake,
the dispatcher's attempt records, bulk enqueue, imports, the demo seed) that costs more than
the database itself. Callers here pass plain tuples in the order of `columns` (field names or
attnames, e.g. `store_id`); table and column names come from the model, so they follow it.

- `insert_rows`: chunked multi-row INSERT with optional `ON CONFLICT (…) DO NOTHING` and
  `RETURNING`. A few rows: multi-row VALUES (SQLite: always, as many rows per statement as
  the connection's variable limit allows). Many rows on PostgreSQL: COPY into a temporary
  table, then `INSERT … SELECT` from it, where values the same for every row (`constants`)
  travel once per statement.
- `copy_rows`: a plain load, no conflicts expected and nothing returned: COPY FROM STDIN on
  PostgreSQL (psycopg 3 `write_row`; measured ≈ 4.5 µs a row), one executemany on SQLite.
- `reserve_ids`: ids for rows not written yet, so rows that point at them (a message's short
  links, a new profile's consent events) go into the same chunk without reading ids back.
- `prepared_rows`, `column_defaults`, `missing_defaults`: from Python values and model
  defaults to what the database takes.

Values in rows are database values: text, numbers, None, aware datetimes, Decimals, and JSON
as serialised text in `json_columns` (or whatever `prepared_rows` produced). No signals are
sent and no model instances are built.
"""
from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from django.db import connections, models, router, transaction
from django.db.models.sql import Query

POSTGRES_ROWS_PER_STATEMENT = 10_000
POSTGRES_STAGE_FROM = 200  # rows from which a chunk is COPYed into a temporary table first
SQLITE_ROWS_PER_STATEMENT = 500
SQLITE_DEFAULT_VARIABLE_LIMIT = 32_766  # SQLite ≥ 3.32; read from the connection when it says


def connection_for(model: type[models.Model], using: str | None = None):
    return connections[using or router.db_for_write(model)]


def column_names(model: type[models.Model], names: Sequence[str]) -> list[str]:
    """Database column of each field name or attname."""
    return [model._meta.get_field(name).column for name in names]


# --- INSERT -----------------------------------------------------------------------------------

def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple], *,
    json_columns: Sequence[str] = (), constants: Mapping[str, object] | None = None,
    conflict: str | Sequence[str] | None = None, ignore_conflicts: bool = False,
    returning: str | None = None, using: str | None = None,
) -> list | None:
    """INSERT `rows` (tuples in the order of `columns`) plus `constants` (column -> one value
    for every row). `conflict` names a unique constraint of the model, or its columns, for
    `ON CONFLICT (…) [WHERE …] DO NOTHING`; `ignore_conflicts` skips a row that breaks any
    unique key. With `returning` (a column) the values of the rows actually inserted come
    back, in no particular order."""
    if not rows:
        return [] if returning else None
    connection = connection_for(model, using)
    constants = dict(constants or {})
    fields = [model._meta.get_field(name) for name in columns]
    constant_fields = [model._meta.get_field(name) for name in constants]
    on_conflict = _conflict_clause(model, connection.alias, conflict if isinstance(conflict, (str, type(None))) else tuple(conflict),
                                   ignore_conflicts)
    tail = on_conflict + (f" RETURNING {connection.ops.quote_name(model._meta.get_field(returning).column)}" if returning else "")
    if connection.vendor == "postgresql":
        found = _insert_postgresql(model, connection, fields, rows, json_columns, constant_fields, list(constants.values()), tail)
    else:
        found = _insert_values(model, connection, fields, rows, constant_fields, list(constants.values()), tail)
    return found if returning else None


@lru_cache(maxsize=256)
def _conflict_clause(model, alias: str, conflict, ignore_conflicts: bool) -> str:
    if conflict is None:
        return " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    connection = connections[alias]
    quote = connection.ops.quote_name
    if isinstance(conflict, str):
        constraint = next((c for c in model._meta.constraints if c.name == conflict and isinstance(c, models.UniqueConstraint)), None)
        if constraint is None or not constraint.fields:
            raise ValueError(f"{model._meta.label} has no unique constraint on fields named {conflict!r}")
        target = ", ".join(quote(column) for column in column_names(model, constraint.fields))
        where = _condition_sql(model, connection, constraint.condition) if constraint.condition is not None else ""
        return f" ON CONFLICT ({target}){' WHERE ' + where if where else ''} DO NOTHING"
    return f" ON CONFLICT ({', '.join(quote(column) for column in column_names(model, conflict))}) DO NOTHING"


def _condition_sql(model, connection, condition) -> str:
    """A partial unique index's condition as SQL, as Django writes it in CREATE INDEX (the
    WHERE of ON CONFLICT must repeat it for the database to pick that index)."""
    query = Query(model=model, alias_cols=False)
    sql, params = query.build_where(condition).as_sql(query.get_compiler(connection=connection), connection)
    return sql % tuple(_literal(param) for param in params)


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # keywords on both (SQLite ≥ 3.23)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise ValueError(f"unsupported literal in a unique constraint's condition: {value!r}")


def _insert_postgresql(model, connection, fields, rows, json_columns, constant_fields, constant_values, tail) -> list:
    """Few rows: a multi-row VALUES, one statement (text parameters go into json columns as
    they are). Many: COPY them into a temporary table of this session, then one `INSERT …
    SELECT` from it. An `unnest(%s::type[], …)` of array parameters would be one statement
    too, but psycopg builds arrays in Python (~7 µs a row of four columns, measured) and
    COPY rows in C (~1.2 µs): for a chunk of thousands the extra statements are worth it."""
    if len(rows) < POSTGRES_STAGE_FROM:
        return _insert_values(model, connection, fields, rows, constant_fields, constant_values, tail)
    quote = connection.ops.quote_name
    types = ["text" if _is_json(field, json_columns) else field.db_type(connection) for field in fields]
    selected = [f"c{i}::jsonb" if _is_json(field, json_columns) else f"c{i}" for i, field in enumerate(fields)]
    selected += [f"%s::{field.db_type(connection)}" for field in constant_fields]
    head = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in [*fields, *constant_fields])}) "
            f"SELECT {', '.join(selected)} FROM ")
    found = []
    with connection.cursor() as cursor:
        stage = _stage_table(cursor, model, types)
        with transaction.atomic(using=connection.alias):  # the staged rows live until this commits
            for start in range(0, len(rows), POSTGRES_ROWS_PER_STATEMENT):
                with connection.wrap_database_errors, cursor.copy(f"COPY {stage} FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in rows[start:start + POSTGRES_ROWS_PER_STATEMENT]:
                        write_row(row)
                cursor.execute(head + f"{stage} AS t" + tail, constant_values)
                if "RETURNING" in tail:
                    found += [row[0] for row in cursor.fetchall()]
                cursor.execute(f"DELETE FROM {stage}")  # the next statement of this transaction starts empty
    return found


def _is_json(field, json_columns) -> bool:
    return field.column in json_columns or field.name in json_columns


def _stage_table(cursor, model, types: list[str]) -> str:
    """A temporary table of this session for rows of these column types, made once (its
    rows are dropped at every commit)."""
    name = f"tp_stage_{model._meta.db_table}_{zlib.crc32(repr(types).encode()):08x}"
    columns = ", ".join(f"c{i} {kind}" for i, kind in enumerate(types))
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DELETE ROWS")
    return name


def _insert_values(model, connection, fields, rows, constant_fields, constant_values, tail) -> list:
    quote = connection.ops.quote_name
    returning = "RETURNING" in tail
    adapters = [_sqlite_adapter(field, connection) for field in fields]
    adapted = [i for i, adapter in enumerate(adapters) if adapter is not None]
    constants = tuple(
        value if adapter is None or value is None else adapter(value)
        for value, adapter in zip(constant_values, (_sqlite_adapter(f, connection) for f in constant_fields))
    )
    width = len(fields) + len(constants)
    per_statement = POSTGRES_STAGE_FROM if connection.vendor == "postgresql" else \
        max(1, min(SQLITE_ROWS_PER_STATEMENT, _sqlite_variable_limit(connection) // width))
    head = (f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in [*fields, *constant_fields])}) VALUES ")
    row_sql = "(" + ", ".join(["%s"] * width) + ")"
    found = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            params = []
            for row in chunk:
                if adapted:
                    row = list(row)
                    for i in adapted:
                        if row[i] is not None:
                            row[i] = adapters[i](row[i])
                params.extend(row)
                params.extend(constants)
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + tail, params)
            if returning:
                found += [row[0] for row in cursor.fetchall()]
    return found


def _sqlite_adapter(field, connection):
    """SQLite stores datetimes and decimals as text Django can read back (naive UTC,
    fixed decimal places); text that is already in that form passes through. PostgreSQL
    takes both as they are."""
    ops = connection.ops
    if connection.vendor != "sqlite":
        return None
    if isinstance(field, models.DateTimeField):
        return lambda value: value if isinstance(value, str) else ops.adapt_datetimefield_value(value)
    if isinstance(field, models.DecimalField):
        return lambda value: value if isinstance(value, str) else ops.adapt_decimalfield_value(value, field.max_digits, field.decimal_places)
    return None


def _sqlite_variable_limit(connection) -> int:
    connection.ensure_connection()
    try:
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python < 3.11
        return SQLITE_DEFAULT_VARIABLE_LIMIT


# --- COPY --------------------------------------------------------------------------------------

def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple], *, using: str | None = None) -> None:
    """Load rows that must all be new: COPY on PostgreSQL, one executemany on SQLite (the
    batching bulk_create does, minus a model instance per row: about 3× faster). A unique
    key broken by any row fails the whole call (IntegrityError). Values go to the driver as
    they are: already prepared (`prepared_rows`, or text the caller formatted itself, as the
    demo generator does for 20M rows), nothing is adapted per value here."""
    connection = connection_for(model, using)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields = [model._meta.get_field(name) for name in columns]
    names = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Django's error classes (IntegrityError…), as for any other statement: COPY goes
            # to the driver directly, outside the wrapper that translates them.
            with connection.wrap_database_errors, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
            return
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})", rows)


# --- values -----------------------------------------------------------------------------------

def prepared_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Mapping], *, using: str | None = None) -> list[tuple]:
    """Tuples of database values from dicts of Python values (by attname): each distinct
    non-text value goes through its field's get_db_prep_save once (JSON dicts every time)."""
    connection = connection_for(model, using)
    preparers = [_preparer(model._meta.get_field(name), connection) for name in columns]
    names = [model._meta.get_field(name).attname for name in columns]
    return [tuple(prepare(row[name]) for prepare, name in zip(preparers, names)) for row in rows]


def _preparer(field, connection):
    if isinstance(field, (models.CharField, models.TextField)):
        return lambda value: value  # already clean text (or None): the database takes it as is
    memo: dict = {}

    def prepare(value):
        try:
            return memo[value]
        except KeyError:
            memo[value] = prepared = field.get_db_prep_save(value, connection)
            return prepared
        except TypeError:  # unhashable (a dict for a JSON field)
            return field.get_db_prep_save(value, connection)

    return prepare


def column_defaults(model: type[models.Model], now: datetime) -> dict:
    """attname -> the value of a new row when none is given (auto_now fields get `now`)."""
    defaults = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        defaults[field.attname] = now if auto else field.get_default()
    return defaults


def missing_defaults(model: type[models.Model], written: Sequence[str], now: datetime, *, using: str | None = None) -> tuple[list[str], tuple]:
    """Columns a loader does not write but the ORM would fill (a field added to the model
    after the loader was written): their attnames and prepared default, the same for every
    row. A NULL default is left out (the database writes NULL, and a NOT NULL column without
    default fails naming itself)."""
    connection = connection_for(model, using)
    known = {model._meta.get_field(name).attname for name in written}
    names, values = [], []
    for attname, value in column_defaults(model, now).items():
        if attname in known or value is None:
            continue
        names.append(attname)
        values.append(model._meta.get_field(attname).get_db_prep_save(value, connection))
    return names, tuple(values)


# --- ids --------------------------------------------------------------------------------------

def reserve_ids(model: type[models.Model], count: int, *, using: str | None = None) -> list[int]:
    """`count` primary keys nobody else will be given, for rows written later in this
    transaction (or never: an unused id is a harmless gap).

    PostgreSQL: nextval of the table's identity sequence once per id in one statement
    (generate_series); concurrent writers interleave, so the ids are unique but not always
    consecutive. SQLite: a block past both the AUTOINCREMENT counter and the highest id,
    moved in one UPDATE of sqlite_sequence, which takes the write lock, so no other writer
    (nor a later AUTOINCREMENT insert) can be given them."""
    if count <= 0:
        return []
    connection = connection_for(model, using)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequence(connection, model), count])
            return [row[0] for row in cursor.fetchall()]
    first = _sqlite_reserve(connection, model, count)
    return list(range(first, first + count))


def reserve_id_block(model: type[models.Model], count: int, *, using: str | None = None) -> int:
    """First of `count` consecutive ids nobody else will be given (a loader that numbers its
    rows itself). PostgreSQL: the table is locked against inserts while the sequence is moved
    past the block, in a short transaction of its own when called outside one (call it before
    a long load, or the lock lasts as long as the load)."""
    if count <= 0:
        return 1
    connection = connection_for(model, using)
    if connection.vendor != "postgresql":
        return _sqlite_reserve(connection, model, count)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(model._meta.db_table)} IN SHARE ROW EXCLUSIVE MODE")
        sequence = _sequence(connection, model)
        cursor.execute("SELECT setval(%s::regclass, nextval(%s::regclass) + %s - 1)", [sequence, sequence, count])
        last = cursor.fetchone()[0]
    return last - count + 1


def _sequence(connection, model) -> str:
    return _sequence_name(connection.alias, connection.settings_dict["NAME"], model._meta.db_table, model._meta.pk.column)


@lru_cache(maxsize=256)
def _sequence_name(alias: str, database: str, table: str, column: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        name = cursor.fetchone()[0]
    if name is None:
        raise RuntimeError(f"{table}.{column} has no sequence to reserve ids from")
    return name


def _sqlite_reserve(connection, model, count: int) -> int:
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, quote(model._meta.pk.column)
    highest = f"(SELECT coalesce(max({pk}), 0) FROM {quote(table)})"
    with connection.cursor() as cursor:
        # The UPDATE is the first statement, so it takes the write lock before reading the
        # counter: two reservations can't read the same value.
        cursor.execute(f"UPDATE sqlite_sequence SET seq = max(seq, {highest}) + %s WHERE name = %s RETURNING seq", [count, table])
        row = cursor.fetchone()
        if row is None:  # no row inserted yet since the table was created
            cursor.execute(f"INSERT INTO sqlite_sequence (name, seq) VALUES (%s, {highest} + %s) RETURNING seq", [table, count])
            row = cursor.fetchone()
    return row[0] - count + 1
