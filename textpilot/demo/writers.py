"""How the demo seed loads its generated rows: the writes themselves are
common/bulk_write.py's (COPY on PostgreSQL, executemany on SQLite, id blocks); this module
is the load around them — what a writer does before, during and after a load of millions.

A writer takes a model, the field names of the tuples and a list of rows; table and column
names come from the model's _meta, so they follow the models. Rows bypass the ORM (no model
instances: at 20M rows their construction alone would cost minutes), so the generator is
responsible for valid values; the database still checks types, NOT NULL, unique indexes
and (see below) foreign keys. Columns the generator doesn't write get the ORM's default
(bulk_write.missing_defaults).

SQLite: `executemany` of one INSERT per batch inside the caller's transaction — the batching
`bulk_create` does, minus building a model instance per row (about 3× faster here).

PostgreSQL: COPY, all inside the caller's one transaction. Measured on the 2-core box (1M events): plain COPY
≈ 4.5 µs a row, each foreign-key trigger ≈ 4 µs, the four secondary indexes of the events
table ≈ 7 µs and growing with the index (random inserts). So for a big load:
  * foreign keys: when the role may (superuser), triggers are off for this transaction
    (`SET LOCAL session_replication_role = replica`) and every key is checked afterwards by
    one anti-join per key (`check_foreign_keys`; any orphan aborts the whole load). Without
    that right, keys are checked at the end of each COPY (`SET CONSTRAINTS ALL IMMEDIATE`)
    instead of queueing tens of millions of deferred checks until commit.
  * secondary indexes: on a table that will receive at least `rebuild_threshold` rows and
    holds no row of another store, the non-unique, non-constraint indexes are dropped inside
    the transaction and rebuilt by CREATE INDEX after the load (sorted, parallel build).
    DDL is transactional, so an aborted load restores them. The price: the table is locked
    (ACCESS EXCLUSIVE) until commit — which is why a table shared with other stores is
    never touched this way. Primary keys and unique indexes always stay.
Ids of tables whose rows are referenced by later rows are reserved as one block
(`reserve_ids`: bulk_write.reserve_id_block)."""
import time

from django.apps import apps
from django.db import connection
from django.utils import timezone

from textpilot.common import bulk_write


class Writer:
    vendor = ""
    ts_suffix = ""
    reserve_inside_load = True  # reserve_ids must run inside the load transaction

    def __init__(self, out=None):
        self.out = out or (lambda message: None)
        self.seconds: dict[str, float] = {}
        self.rows: dict[str, int] = {}
        self._extra: dict = {}

    def write(self, label: str, model, fields, rows) -> None:
        if not rows:
            return
        started = time.perf_counter()
        key = (model, tuple(fields))
        if key not in self._extra:
            self._extra[key] = bulk_write.missing_defaults(model, fields, timezone.now())
        extra_names, extra_values = self._extra[key]
        if extra_names:
            fields = (*fields, *extra_names)
            rows = [row + extra_values for row in rows]
        bulk_write.copy_rows(model, fields, rows)
        self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started
        self.rows[label] = self.rows.get(label, 0) + len(rows)

    def reserve_ids(self, model, count: int) -> int:
        """First id of a block of `count` ids nobody else will use."""
        return bulk_write.reserve_id_block(model, count)

    def prepare(self, store_id: int, expected: dict) -> None:
        """Before the load, inside its transaction. `expected`: model -> rows about to be written."""

    def delete_store_rows(self, models, store_id: int) -> dict:
        """DELETE every row of the store from each model's table (children first); {label: rows}."""
        qn = connection.ops.quote_name
        deleted = {}
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(model._meta.get_field('store').column)} = %s", [store_id])
                deleted[model._meta.label] = cursor.rowcount
        return deleted

    def finish(self, models, store_id: int) -> None:
        """After the load, before the rollups are recomputed."""


class PostgresCopyWriter(Writer):
    vendor = "postgresql"
    ts_suffix = "+00"
    reserve_inside_load = False  # a short transaction of its own, before the load
    rebuild_threshold = 200_000

    def __init__(self, out=None):
        super().__init__(out)
        self.triggers_off = False
        self.dropped_indexes: list[tuple[str, str, str]] = []  # (table, index name, CREATE INDEX statement)

    def may_disable_triggers(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('is_superuser')")
            return cursor.fetchone()[0] == "on"

    def delete_store_rows(self, models, store_id: int) -> dict:
        """Deleting a million profiles fires a foreign-key check per deleted row at commit, each
        wading through the dead index entries of the children just deleted (minutes). When the
        triggers may be switched off, delete without them and then prove, with one anti-join per
        foreign key of any installed model that points at a cleared table, that nothing anywhere
        (another store included) still references a deleted row; otherwise abort."""
        if not self.may_disable_triggers():
            return super().delete_store_rows(models, store_id)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        deleted = super().delete_store_rows(models, store_id)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            cleared = set(models)
            for model in apps.get_models():
                for fk in model._meta.concrete_fields:
                    if fk.is_relation and fk.related_model in cleared:
                        check_references(cursor, model, fk)
        return deleted

    def prepare(self, store_id: int, expected: dict) -> None:
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self.may_disable_triggers():
                cursor.execute("SET LOCAL session_replication_role = replica")
                self.triggers_off = True
            else:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for model, rows in expected.items():
                if rows < self.rebuild_threshold:
                    continue
                table = model._meta.db_table
                store_column = qn(model._meta.get_field("store").column)
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {qn(table)} WHERE {store_column} <> %s)", [store_id])
                if cursor.fetchone()[0]:
                    continue  # shared with other stores: keep its indexes (and its readers) alive
                cursor.execute(
                    """SELECT c.relname, pg_get_indexdef(i.indexrelid)
                       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                       WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique
                         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                       ORDER BY c.relname""",
                    [qn(table)],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"DROP INDEX {qn(name)}")
                    self.dropped_indexes.append((table, name, definition))
        if self.dropped_indexes:
            tables = sorted({table for table, _, _ in self.dropped_indexes})
            self.out(f"loading {', '.join(tables)} without their {len(self.dropped_indexes)} secondary indexes (rebuilt after the load)")

    def finish(self, models, store_id: int) -> None:
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            if self.dropped_indexes:
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                for table, name, definition in self.dropped_indexes:
                    started = time.perf_counter()
                    cursor.execute(definition)
                    self.out(f"  rebuilt index {name} in {time.perf_counter() - started:.1f}s")
                self.dropped_indexes = []
            if self.triggers_off:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
                self.triggers_off = False
                started = time.perf_counter()
                check_foreign_keys(cursor, models, store_id)
                self.out(f"  checked every foreign key of the new rows in {time.perf_counter() - started:.1f}s")
            else:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are INITIALLY DEFERRED
            for model in models:
                # Fresh statistics so the rollup query (and the first dashboard queries) plan well.
                cursor.execute(f"ANALYZE {qn(model._meta.db_table)}")


def check_references(cursor, model, fk, store_id: int | None = None) -> None:
    """Raise if a row of `model` (of one store, or all) points through `fk` at a missing row."""
    qn = connection.ops.quote_name
    parent = fk.related_model._meta
    scope = f"c.{qn(model._meta.get_field('store').column)} = %s AND " if store_id is not None else ""
    cursor.execute(
        f"SELECT count(*) FROM {qn(model._meta.db_table)} c WHERE {scope}c.{qn(fk.column)} IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {qn(parent.db_table)} p WHERE p.{qn(fk.target_field.column)} = c.{qn(fk.column)})",
        [store_id] if store_id is not None else [],
    )
    orphans = cursor.fetchone()[0]
    if orphans:
        raise RuntimeError(f"{orphans} {model._meta.label} rows point at a missing {parent.label} ({fk.name})")


def check_foreign_keys(cursor, models, store_id: int) -> None:
    """One anti-join per foreign key over the store's rows; raises (aborting the load) if any
    row points at nothing. Used when the load ran with foreign-key triggers off."""
    for model in models:
        for fk in model._meta.concrete_fields:
            if fk.is_relation and fk.name != "store":  # the store is the one being seeded
                check_references(cursor, model, fk, store_id)


class SqliteWriter(Writer):
    vendor = "sqlite"

    def prepare(self, store_id: int, expected: dict) -> None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")  # 256 MB page cache for index maintenance


def writer_for_connection(out=None) -> Writer:
    if connection.vendor == "postgresql":
        return PostgresCopyWriter(out)
    if connection.vendor == "sqlite":
        return SqliteWriter(out)
    raise RuntimeError(f"seed_demo supports SQLite and PostgreSQL, not {connection.vendor}")
