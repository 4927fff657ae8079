"""The SQL that writes event rows for the tracking API: one statement per request.

Why raw SQL: an ingest request used to cost 5–6 statements (key lookup, profile lookup,
idempotency-key lookup, BEGIN, INSERT, COMMIT) and ~4 ms of CPU, most of it building ORM
queries (bench/ingest_wrk_bench.py). Here:
- one event: `INSERT … SELECT` from the live profile holding exactly the given identifiers
  (the lookup is profiles.service.live_profile_holding_sql),
  `ON CONFLICT DO NOTHING` on the store's idempotency key, `RETURNING` the row — profile
  resolution, dedupe and insert in one round trip. No row back means "no such profile yet"
  or "key already recorded"; the caller tells which and takes the exact path.
- many events: one multi-row insert (PostgreSQL: the rows as one JSON parameter, so the
  statement text is the same for any batch size; SQLite: `VALUES` rows in chunks),
  also `ON CONFLICT DO NOTHING RETURNING`, so the ids, profiles, names and times of the rows
  actually written come back (what an `events_recorded` hook needs) and duplicates don't.

Kept here rather than in common/bulk_write.py: the single-event statement resolves the profile
inside the INSERT (INSERT … SELECT from the profile lookup), which no generic writer expresses,
and the batch statement keeps one statement text for any batch size on PostgreSQL, which the
ingest benchmark measured as the difference between 0.5× and 0.7× the bare endpoint. Values
arrive validated; properties as JSON text.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone as dt_timezone
from functools import lru_cache
from typing import NamedTuple

from django.db import connection

from textpilot.common.hooks import EventRecorded
from textpilot.events.models import Event
from textpilot.profiles import service as profiles

COLUMNS = ("store_id", "profile_id", "name", "properties", "occurred_at", "idempotency_key", "source", "recorded_at")
SQLITE_ROWS_PER_STATEMENT = 500  # 8 columns × 500 = 4,000 parameters, under SQLite's 32,766


class EventRow(NamedTuple):
    """What differs between the events of one batch (store, source and recorded_at don't)."""

    profile_id: int
    name: str
    properties_json: str  # the output of json.dumps
    occurred_at: datetime
    idempotency_key: str | None


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _column_list() -> str:
    return ", ".join(_quote(c) for c in COLUMNS)


def _db_time(value: datetime):
    return value if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)


# PostgreSQL returns the times as text (`occurred_at::text`), parsed by datetime.fromisoformat:
# psycopg's Python timestamptz loader cost 0.5 ms per 100 rows, a third of the insert's client
# CPU. SQLite's driver converts the declared type itself.
_RETURNING = {
    "postgresql": " ON CONFLICT DO NOTHING RETURNING id, profile_id, name, occurred_at::text",
    "sqlite": " ON CONFLICT DO NOTHING RETURNING id, profile_id, name, occurred_at",
}


def _written(rows) -> list[EventRecorded]:
    out = []
    for pk, profile_id, name, occurred_at in rows:
        when = occurred_at if isinstance(occurred_at, datetime) else datetime.fromisoformat(occurred_at)
        when = when.replace(tzinfo=dt_timezone.utc) if when.tzinfo is None else when.astimezone(dt_timezone.utc)
        out.append(EventRecorded(pk, profile_id, name, when))
    return out


@lru_cache(maxsize=64)
def _single_sql(vendor: str, identifier_names: tuple[str, ...]) -> str:
    jsonb = "::jsonb" if vendor == "postgresql" else ""
    selected = ["%s", "p.id", "%s", f"%s{jsonb}", "%s", "%s", "%s", "%s"]
    # The WHERE after FROM (…) is for SQLite, which would otherwise read ON CONFLICT as a join's ON.
    return (f"INSERT INTO {_quote(Event._meta.db_table)} ({_column_list()}) SELECT {', '.join(selected)} "
            f"FROM ({profiles.live_profile_holding_sql(identifier_names)}) p WHERE 1 = 1"
            " ON CONFLICT DO NOTHING RETURNING id, profile_id")


def insert_for_known_profile(store_id: int, identifiers: dict, name: str, properties_json: str, occurred_at: datetime,
                             idempotency_key: str | None, source: str, recorded_at: datetime) -> tuple[int, int] | None:
    """Write one event for the live profile that holds every one of `identifiers`, in one
    statement; returns (event id, profile id). None when no profile holds them all (new
    person, new identifier, two profiles to merge) or when the store already has this
    idempotency key: then nothing was written."""
    names = tuple(sorted(identifiers))
    params = [store_id, name, properties_json, _db_time(occurred_at), idempotency_key, source, _db_time(recorded_at),
              store_id, *(identifiers[n] for n in names)]
    with connection.cursor() as cursor:
        cursor.execute(_single_sql(connection.vendor, names), params)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


@lru_cache(maxsize=4)
def _bulk_sql_postgresql() -> str:
    # The rows travel as one JSON array of [profile_id, name, properties, occurred_at, key]:
    # psycopg's array dumping (a parameter per column through unnest) took 3.4 ms of client
    # CPU per 100 rows, the JSON text 0.5 ms; PostgreSQL parses it in C.
    return (f"INSERT INTO {_quote(Event._meta.db_table)} ({_column_list()}) "
            "SELECT %s, (e->>0)::bigint, e->>1, e->2, (e->>3)::timestamptz, e->>4, %s, %s "
            "FROM jsonb_array_elements(%s::jsonb) AS e" + _RETURNING["postgresql"])


def _json_rows(rows: list[EventRow]) -> str:
    dumps, parts, names, times = json.dumps, [], {}, {}
    for row in rows:
        name = names.get(row.name) or names.setdefault(row.name, dumps(row.name))  # a batch has few names
        when = times.get(row.occurred_at)
        if when is None:  # most events of a batch share the request's time
            when = times[row.occurred_at] = row.occurred_at.isoformat()
        key = dumps(row.idempotency_key) if row.idempotency_key is not None else "null"
        parts.append(f'[{int(row.profile_id)},{name},{row.properties_json},"{when}",{key}]')
    return "[" + ",".join(parts) + "]"


def insert_many(store_id: int, source: str, recorded_at: datetime, rows: list[EventRow]) -> list[EventRecorded]:
    """Write the events of one store; a row whose idempotency key the store already has is
    skipped and not returned. Returns the rows written (in no promised order), as the
    events_recorded hook announces them."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_bulk_sql_postgresql(), [store_id, source, recorded_at, _json_rows(rows)])
            return _written(cursor.fetchall())
        head = f"INSERT INTO {_quote(Event._meta.db_table)} ({_column_list()}) VALUES "
        row_sql = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        recorded, written = _db_time(recorded_at), []
        for start in range(0, len(rows), SQLITE_ROWS_PER_STATEMENT):
            chunk = rows[start:start + SQLITE_ROWS_PER_STATEMENT]
            params = []
            for row in chunk:
                params += [store_id, row.profile_id, row.name, row.properties_json, _db_time(row.occurred_at),
                           row.idempotency_key, source, recorded]
            cursor.execute(head + ", ".join([row_sql] * len(chunk)) + _RETURNING["sqlite"], params)
            written += _written(cursor.fetchall())
        return written
