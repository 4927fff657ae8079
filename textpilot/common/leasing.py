"""Leases: rows that one worker at a time may work on, taken back when that worker dies.

A leased row has an owner column (the lease token, empty when free) and an expiry column.
A worker claims due rows by writing its token and an expiry into them; every later write
it makes filters on its token (`held`), so a worker that hung past the expiry (and whose
rows someone else took meanwhile) can't overwrite what the other one recorded. Finishing
clears both columns (`release`); long work extends the expiry (`renew`). A row whose lease
ran out belongs to nobody: `claim` takes it again, or a recovery pass looks at `expired`
ones first when the dead worker may have left something half done (the dispatcher asks
the provider whether a text it was sending arrived before it sends anything again).

Used by the dispatcher (`delivery.claims`, messages) and meant for any other table worked
on by several processes, e.g. flow runs waiting for their next wake-up:

    RUNS = Leases(FlowRun, seconds=60)
    token, ids = RUNS.claim(FlowRun.objects.filter(state="waiting", wake_at__lte=now).order_by("wake_at", "id"),
                            limit=100, owner=worker, now=now)
    ...  # advance each run
    RUNS.release(RUNS.held(token, [run.pk]), wake_at=next_wake_up)

Claims are race-free on both databases: PostgreSQL skips rows another claim has locked
(FOR UPDATE SKIP LOCKED), SQLite runs the whole UPDATE under its single write lock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable

from django.db import connection, models, transaction
from django.db.models import Q, QuerySet


@dataclasses.dataclass(frozen=True)
class Leases:
    """The lease columns of one model and how long a lease lasts."""

    model: type[models.Model]
    seconds: float
    owner_field: str = "lease_owner"
    expires_field: str = "lease_expires_at"

    def token(self, owner: str) -> str:
        """A new lease token: the owner (host:pid) for people reading the table, plus a
        random part so two claims of one owner are told apart."""
        return f"{owner}:{uuid.uuid4().hex[:12]}"

    def expiry(self, now: dt.datetime, seconds: float | None = None) -> dt.datetime:
        return now + dt.timedelta(seconds=self.seconds if seconds is None else seconds)

    def free(self, now: dt.datetime) -> Q:
        """Rows nobody holds: never leased, released, or their lease ran out."""
        return Q(**{f"{self.expires_field}__isnull": True}) | Q(**{f"{self.expires_field}__lt": now})

    def claim(self, due: QuerySet, *, limit: int, owner: str, now: dt.datetime,
              seconds: float | None = None) -> tuple[str, list]:
        """Lease up to `limit` rows of `due` (a filtered, ordered queryset of the model) that
        nobody holds; returns (token, ids of the rows now ours), in no particular order.

        One statement: UPDATE … WHERE pk IN (SELECT pk … LIMIT n [FOR UPDATE SKIP LOCKED])
        RETURNING pk (PostgreSQL, SQLite ≥ 3.35), so the claimed rows are named without a
        second look-up by the owner column (which is not indexed)."""
        token = self.token(owner)
        picked = due.filter(self.free(now)).values_list("pk", flat=True)[:limit]
        if connection.vendor == "postgresql":
            picked = picked.select_for_update(skip_locked=True)
        meta, quote = self.model._meta, connection.ops.quote_name
        owner_column, expires_column = (meta.get_field(name).column for name in (self.owner_field, self.expires_field))
        # Raw SQL takes the backend's own datetime format (SQLite compares them as text).
        expires = connection.ops.adapt_datetimefield_value(self.expiry(now, seconds))
        with transaction.atomic(), connection.cursor() as cursor:
            select_sql, select_params = picked.query.sql_with_params()  # FOR UPDATE compiles only in a transaction
            sql = (f"UPDATE {quote(meta.db_table)} SET {quote(owner_column)} = %s, {quote(expires_column)} = %s "
                   f"WHERE {quote(meta.pk.column)} IN ({select_sql}) RETURNING {quote(meta.pk.column)}")
            cursor.execute(sql, [token, expires, *select_params])
            ids = [row[0] for row in cursor.fetchall()]
        return token, ids

    def held(self, token: str, ids: Iterable | None = None) -> QuerySet:
        """The rows (of `ids`, when given) still held under `token`: every write a lease
        holder makes goes through this, so a lost lease writes nothing."""
        rows = self.model.objects.filter(**{self.owner_field: token})
        return rows if ids is None else rows.filter(pk__in=list(ids))

    def renew(self, rows: QuerySet, *, now: dt.datetime, seconds: float | None = None, **changes) -> int:
        """Extend the lease of `rows` (normally `held(...)`) from `now`, writing `changes` too."""
        return rows.update(**{self.expires_field: self.expiry(now, seconds)}, **changes)

    def released(self) -> dict:
        """The column values of a row nobody holds (for an update that also ends a lease)."""
        return {self.owner_field: "", self.expires_field: None}

    def release(self, rows: QuerySet, **changes) -> int:
        """End the lease of `rows` (normally `held(...)`), writing `changes` in the same UPDATE."""
        return rows.update(**self.released(), **changes)

    def expired(self, rows: QuerySet, now: dt.datetime) -> QuerySet:
        """Those of `rows` whose lease ran out: their worker died or hung (a free row has no expiry)."""
        return rows.filter(**{f"{self.expires_field}__lt": now})
