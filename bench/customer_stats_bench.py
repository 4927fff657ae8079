"""Customer stats (commerce.stats): what keeping them costs per order write, and a whole-store
recompute, each against a baseline measured in the same run on the same data.

For SQLite (a fresh file) and PostgreSQL (a fresh database): migrate, `seed_demo` a store
(profiles, 2 orders per profile on average, no events), then in one child process:
  1. per-order write: `commerce.service.record_order` of new orders for 100 customers, one
     transaction each, wall and CPU ms per order, statements per order. Baseline: the same
     writes with `stats.refresh` switched off (what an order write costs without stats).
  2. `stats.recompute_store` over correct rows (must correct 0) and from an empty table.
     Baseline: the bare GROUP BY profile aggregate of the same orders (the read any recompute
     must do), as a SELECT.
The box has 2 shared cores: CPU ms are steadier than wall ms (each result records the load)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

NAME = "customer_stats"
TITLE = "Customer stats: cost per order write and whole-store recompute"
SIZES = {"quick": {"profiles": 5_000, "writes": 200}, "default": {"profiles": 100_000, "writes": 1_000}}

MEASURE_SCRIPT = """
import json, os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection, reset_queries, transaction
from textpilot.commerce import service as commerce, stats
from textpilot.commerce.models import CustomerStats, Order
from textpilot.profiles.models import Profile
from textpilot.stores.models import Store

profiles, writes = int(sys.argv[1]), int(sys.argv[2])
call_command("seed_demo", "--store", "bench", "--profiles", str(profiles), "--orders", str(2 * profiles), "--events", "0",
             "--now", "2025-06-01T00:00:00", stdout=open(os.devnull, "w"))
store = Store.objects.get(slug="bench")
buyers = list(Profile.objects.filter(store=store).order_by("pk")[:100])
out = {}

def write_orders(prefix):
    settings.DEBUG = True
    reset_queries()
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(writes):
        commerce.record_order(store, external_id=f"{prefix}-{i}", total="12.34", profile=buyers[i % len(buyers)], payment_status="paid")
    result = {"wall_ms": (time.perf_counter() - wall) * 1000 / writes, "cpu_ms": (time.process_time() - cpu) * 1000 / writes,
              "statements": len(connection.queries) / writes}
    settings.DEBUG = False
    return result

refresh = stats.refresh
stats.refresh = lambda *args, **kwargs: None
out["write_without_stats"] = write_orders("base")
stats.refresh = refresh
out["write_with_stats"] = write_orders("stats")

def timed(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value

def bare_aggregate():
    with connection.cursor() as cursor:
        cursor.execute("SELECT profile_id, count(*), sum(total), min(placed_at), max(placed_at) FROM commerce_order "
                       "WHERE store_id = %s AND profile_id IS NOT NULL GROUP BY profile_id", [store.pk])
        return len(cursor.fetchall())

out["orders"] = Order.objects.filter(store=store).count()
out["aggregate_s"], out["customers"] = timed(bare_aggregate)
out["recompute_correct_s"], out["corrected_on_correct_rows"] = timed(lambda: stats.recompute_store(store))
with transaction.atomic():
    CustomerStats.objects.filter(store=store).delete()
out["recompute_empty_s"], out["rows_written_from_empty"] = timed(lambda: stats.recompute_store(store))
print(json.dumps(out))
"""


def measure_database(label: str, database_url: str | None, data_dir: Path, sizes: dict) -> dict:
    env = harness.textpilot_env(database_url, data_dir)
    harness.migrate(label, env, data_dir / "migrate.log")
    child = subprocess.run([sys.executable, "-c", MEASURE_SCRIPT, str(sizes["profiles"]), str(sizes["writes"])], env=env,
                           cwd=harness.ROOT, capture_output=True, text=True, timeout=3600)
    if child.returncode:
        raise RuntimeError(f"measurement failed on {label}: {child.stderr[-3000:]}")
    m = json.loads(child.stdout.strip().splitlines()[-1])
    base, with_stats = m["write_without_stats"], m["write_with_stats"]
    return {"metrics": [
        harness.metric("order write, wall per order", with_stats["wall_ms"], "ms", "", base["wall_ms"], "the same writes without stats"),
        harness.metric("order write, CPU per order", with_stats["cpu_ms"], "ms", "", base["cpu_ms"], "the same writes without stats"),
        harness.metric("order write, SQL statements per order", with_stats["statements"], "", "", base["statements"],
                       "the same writes without stats"),
        harness.metric(f"recompute_store over correct rows ({m['orders']:,} orders, {m['customers']:,} customers)",
                       m["recompute_correct_s"], "s", "", m["aggregate_s"], "bare GROUP BY aggregate SELECT"),
        harness.metric("rows corrected on correct rows (0 = incremental writes are exact)", m["corrected_on_correct_rows"], "rows", "0"),
        harness.metric("recompute_store into an empty table", m["recompute_empty_s"], "s", "", m["aggregate_s"],
                       "bare GROUP BY aggregate SELECT"),
        harness.metric("rows written from empty", m["rows_written_from_empty"], "rows", f"{m['customers']:,}"),
    ]}


def run(quick: bool = False, full: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    machine = harness.machine_info()
    work = Path(tempfile.mkdtemp(prefix="tp-bench-stats-"))
    runs, notes = [], []
    try:
        data_dir = work / "sqlite"
        data_dir.mkdir()
        runs.append({"label": "SQLite (WAL)", "database": {"vendor": "sqlite", "version": harness.sqlite_version()},
                     **measure_database("sqlite", None, data_dir, sizes)})
        if harness.pg_available():
            db = f"tp_bench_stats_{os.getpid()}"
            url = harness.create_pg_database(db)
            try:
                data_dir = work / "pg"
                data_dir.mkdir()
                runs.append({"label": "PostgreSQL", "database": {"vendor": "postgresql", "version": harness.postgres_version(url)},
                             **measure_database("postgresql", url, data_dir, sizes)})
            finally:
                harness.drop_pg_database(db)
        else:
            notes.append("PostgreSQL was not reachable (TEXTPILOT_BENCH_PG_URL); only SQLite was measured.")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": NAME,
        "title": TITLE,
        "description": " ".join((__doc__ or "").strip().split("\n", 1)[1].split()),
        "params": {**sizes, "quick": quick},
        "machine": machine,
        "seconds": time.perf_counter() - started,
        "runs": runs,
        "notes": notes,
    }
