"""seed_demo throughput on SQLite and PostgreSQL, against a raw bulk insert measured in the same run.

For each database: a fresh database (SQLite file in a temp dir / a scratch PostgreSQL
database), `textpilot migrate`, then `textpilot seed_demo` as a child process (wall time,
its own peak RSS, per-table rows and write time from --report-json). The baseline is a
hand-written raw insert of the same number of plain rows into a scratch table with no
indexes or foreign keys in the same database (SQLite: executemany in one transaction;
PostgreSQL: COPY with psycopg's write_row) — the ceiling the database gives for rows of
that shape, so "seed rows/s vs raw rows/s" shows what generation, indexes and keys cost.

Sizes: default 50k profiles / 100k orders / 1M events; --quick 5k/10k/100k; --full adds
1M/2M/20M on PostgreSQL (SQLite stays at the default size)."""
import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import harness

NAME = "seed_demo"
TITLE = "seed_demo: demo data load throughput"

SIZES = {
    "quick": {"profiles": 5_000, "orders": 10_000, "events": 100_000},
    "default": {"profiles": 50_000, "orders": 100_000, "events": 1_000_000},
    "full": {"profiles": 1_000_000, "orders": 2_000_000, "events": 20_000_000},
}
SCRATCH_COLUMNS = "id bigint, store_id bigint, profile_id bigint, name varchar(64), properties {json}, occurred_at {ts}, source varchar(32)"
PROPS = '{"product_id": 17, "title": "Ridgeline 45L Backpack", "price": 189.0, "url": "https://demo-outdoor.example.com/products/ridgeline-45l-backpack"}'


def _plain_rows(count: int, ts_suffix: str):
    names = ("viewed_product", "added_to_cart", "active_on_site", "placed_order")
    for i in range(count):
        yield (i + 1, 1, i // 20 + 1, names[i & 3], PROPS, f"2025-0{1 + i % 9}-1{i % 10} 12:{i % 60:02d}:{i % 59:02d}{ts_suffix}", "web")


def baseline_sqlite(path: Path, count: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE bench_scratch ({SCRATCH_COLUMNS.format(json='text', ts='datetime')})")
    started = time.perf_counter()
    conn.execute("BEGIN")
    rows = _plain_rows(count, "")
    while True:
        batch = [row for _, row in zip(range(50_000), rows)]
        if not batch:
            break
        conn.executemany("INSERT INTO bench_scratch VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.execute("DROP TABLE bench_scratch")
    conn.close()
    return seconds


def baseline_postgres(url: str, count: int) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE bench_scratch ({SCRATCH_COLUMNS.format(json='jsonb', ts='timestamptz')})")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy("COPY bench_scratch FROM STDIN") as copy:
            for row in _plain_rows(count, "+00"):
                copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_scratch")
        conn.commit()
    return seconds


def seed_once(label: str, database_url: str | None, data_dir: Path, sizes: dict, log_dir: Path) -> dict:
    env = harness.textpilot_env(database_url, data_dir)
    harness.migrate(label, env, log_dir / f"{label}-migrate.log")
    report = data_dir / "seed-report.json"
    run = harness.run_child_with_rusage(
        harness.textpilot("seed_demo", "--store", "bench", "--profiles", str(sizes["profiles"]), "--orders", str(sizes["orders"]),
                          "--events", str(sizes["events"]), "--seed", "42", "--report-json", str(report)),
        env=env, timeout=3600, log_path=log_dir / f"{label}-seed.log",
    )
    if run["returncode"]:
        raise RuntimeError(f"seed_demo failed on {label}:\n{run['output'][-3000:]}")
    return {"wall_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"], "report": json.loads(report.read_text()),
            "log_tail": run["output"].splitlines()[-14:]}


def metrics_for(seeded: dict, baseline_seconds: float, sizes: dict, full: bool) -> list[dict]:
    report = seeded["report"]
    total_rows = report["total_rows"]
    wall = seeded["wall_seconds"]
    raw_rate = total_rows / baseline_seconds
    out = [
        harness.metric("total time (process wall clock)", wall, "s", "< 900 s (15 min)" if full else "",
                       baseline_seconds, "raw insert of the same row count"),
        harness.metric("rows written (all tables)", total_rows, "rows"),
        harness.metric("overall throughput", total_rows / wall, "rows/s", "", raw_rate, "raw insert, no indexes/keys"),
        harness.metric("peak RSS of the seeding process", seeded["peak_rss_mb"], "MB", "< 1024 MB"),
    ]
    cpu = report.get("cpu_seconds", {})
    if "process" in cpu:
        out.append(harness.metric("CPU seconds: seeding process (generation + client side of the writes)", cpu["process"], "s"))
    if "database_backend" in cpu:
        out.append(harness.metric("CPU seconds: PostgreSQL backend", cpu["database_backend"], "s"))
    for phase, seconds in report["phases"].items():
        out.append(harness.metric(f"phase: {phase}", seconds, "s"))
    for table, rows in report["rows"].items():
        seconds = report["write_seconds"].get(table)
        if rows and seconds:
            out.append(harness.metric(f"{table}: rows/s (rows ÷ time spent writing that table)", rows / seconds, "rows/s",
                                      "", raw_rate, "raw insert"))
    out.append(harness.metric("profile rollups corrected after load (0 = generator wrote them right)", report["rollups_corrected"], "profiles", "0"))
    return out


def run(quick: bool = False, full: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    machine = harness.machine_info()  # before the run: its load average is the "before" figure
    work = Path(tempfile.mkdtemp(prefix="tp-bench-seed-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    runs, notes = [], []
    try:
        # SQLite
        data_dir = work / "sqlite"
        data_dir.mkdir()
        seeded = seed_once("sqlite", None, data_dir, sizes, log_dir)
        baseline = baseline_sqlite(data_dir / "baseline.sqlite3", seeded["report"]["total_rows"])
        runs.append({
            "label": f"SQLite, {sizes['profiles']:,} profiles / {sizes['orders']:,} orders / {sizes['events']:,} events",
            "database": {"vendor": "sqlite", "version": harness.sqlite_version()},
            "metrics": metrics_for(seeded, baseline, sizes, False),
            "notes": ["baseline: executemany of the same number of 7-column rows into a table without indexes, one transaction, WAL, synchronous=NORMAL"],
        })
        shutil.rmtree(data_dir, ignore_errors=True)

        # PostgreSQL
        if harness.pg_available():
            pg_sizes = [("default" if not quick else "quick", sizes)] + ([("full", SIZES["full"])] if full else [])
            for kind, size in pg_sizes:
                db = f"tp_bench_seed_{os.getpid()}_{kind}"
                url = harness.create_pg_database(db)
                try:
                    data_dir = work / f"pg-{kind}"
                    data_dir.mkdir()
                    seeded = seed_once(f"postgresql-{kind}", url, data_dir, size, log_dir)
                    baseline = baseline_postgres(url, seeded["report"]["total_rows"])
                    runs.append({
                        "label": f"PostgreSQL, {size['profiles']:,} profiles / {size['orders']:,} orders / {size['events']:,} events",
                        "database": {"vendor": "postgresql", "version": harness.postgres_version(url)},
                        "metrics": metrics_for(seeded, baseline, size, kind == "full"),
                        "notes": ["baseline: COPY (psycopg write_row) of the same number of 7-column rows (jsonb, timestamptz) into a table without indexes or keys"],
                    })
                finally:
                    harness.drop_pg_database(db)
        else:
            notes.append("PostgreSQL was not reachable (TEXTPILOT_BENCH_PG_URL); only SQLite was measured.")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": NAME,
        "title": TITLE,
        "description": (__doc__ or "").strip().split("\n\n")[1].replace("\n", " "),
        "params": {**sizes, "full": full, "quick": quick},
        "machine": machine,
        "seconds": time.perf_counter() - started,
        "runs": runs,
        "notes": notes,
    }
