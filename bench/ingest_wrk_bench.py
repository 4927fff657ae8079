"""Event ingest under wrk: textpilot's /api/v1/events and /events/batch vs a bare endpoint.

On a fresh PostgreSQL database: migrate, create a store, an API key and the store's known
profiles (shopper0..N-1@example.com), and the bare table; ANALYZE, as autovacuum would have
in a running store. Then serve, each with gunicorn and
2 sync workers on 127.0.0.1, textpilot (its whole middleware stack, API-key auth, profile
resolution, idempotency keys, logging at INFO as in production) and the bare baseline in
bench/bare_ingest (Django + django-ninja, no middleware: one INSERT per event, one multi-row
INSERT per batch). wrk (bench/wrk_ingest.lua, 2 threads, 8 connections) posts single events
and batches of 100, every event with an idempotency key unique to the run and a known
profile; bare and textpilot take turns for several rounds (medians reported; the ratio is
the median of the rounds' textpilot/bare ratios).
Also recorded: CPU of the gunicorn workers and of the PostgreSQL backends per request, SQL
statements per request (Django's CaptureQueriesContext, in-process), and that the events
stored match the events acknowledged. Both apps keep database connections open with
Django's per-request health check (textpilot's settings), so each request of either pays
one `SELECT 1` round trip besides its own statements. wrk shares the 2 cores with the
servers and the database, the same for both apps. Targets: textpilot ≥ 0.5× the bare rate
for both. `python bench/ingest_wrk_bench.py [--quick]`; needs Debian's `wrk`."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness
from bare_ingest.schema import TABLE_SQL
from harness import Server

NAME = "ingest_wrk"
TITLE = "Event ingest under wrk: textpilot vs a bare Django + django-ninja INSERT endpoint (PostgreSQL)"
BATCH = 100
WRK_THREADS, CONNECTIONS = 2, 8
LUA = harness.BENCH_DIR / "wrk_ingest.lua"
SIZES = {
    "quick": {"profiles": 500, "seconds": 4, "warmup_seconds": 2, "rounds": 2},
    "default": {"profiles": 2000, "seconds": 10, "warmup_seconds": 3, "rounds": 5},
}
MODES = {"single": ("/api/v1/events", "/events", 1), "batch": ("/api/v1/events/batch", "/events/batch", BATCH)}

SETUP_SCRIPT = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from django.db import connection
from textpilot.profiles import service as profiles
from textpilot.stores import service
store = service.create_store("Bench Store", slug="bench", timezone="UTC", currency="USD", country="US")
_, key = service.create_api_key(store, "bench")
for i in range(int(sys.argv[1])):
    profiles.create_profile(store, email=f"shopper{i}@example.com", source="bench")
with connection.cursor() as cursor:
    cursor.execute(sys.argv[2])
    # Planner statistics, as autovacuum keeps them in a running store: without them the
    # fresh tables look empty and profile lookups scan the store's index instead of the email's.
    cursor.execute("ANALYZE")
print(json.dumps({"key": key}))
"""

# Statements of one single-event request and one batch request, steady state (the key and
# the profiles were seen before), through Django's test client on the same database.
STATEMENTS_SCRIPT = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
key, batch = sys.argv[1], int(sys.argv[2])
client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
def event(i):
    return {"name": "viewed_product", "profile": {"email": f"shopper{i}@example.com"},
            "properties": {"product_id": "1", "price": "24.90"}, "idempotency_key": f"statements-{i}"}
def post(path, body, expect):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, json.dumps(body), content_type="application/json")
    assert response.status_code == expect, response.content
    return len(queries)
post("/api/v1/events", event(-1), 201)
post("/api/v1/events/batch", {"events": [event(-2 - i) for i in range(batch)]}, 200)
single = post("/api/v1/events", event(0), 201)
batched = post("/api/v1/events/batch", {"events": [event(1 + i) for i in range(batch)]}, 200)
print(json.dumps({"single": single, "batch": batched}))
"""

COUNT_SQL = {"textpilot": "SELECT count(*) FROM events_event", "bare": "SELECT count(*) FROM bare_event"}


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        raise RuntimeError("wrk is not installed: `apt-get install wrk` (Debian's package) and run again")
    return wrk


def run_wrk(wrk: str, url: str, seconds: float, tag: str, mode: str, profiles: int, key: str | None, batch: int) -> dict:
    args = [wrk, "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "10s",
            "-s", str(LUA), url, "--", tag, mode, str(profiles), key or "-", str(batch)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in out.stdout.splitlines() if line.startswith("WRK_JSON ")]
    if out.returncode or not lines:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-1500:]} {out.stderr[-1500:]}")
    result = json.loads(lines[-1].split(" ", 1)[1])
    result["seconds"] = result["duration_us"] / 1e6
    result["ok"] = result["requests"] - result["status_errors"]
    return result


def database_backends(url: str, database: str) -> list[int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            [database]).fetchall()
    return [pid for (pid,) in rows]


def count_rows(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchone()[0]


def phase(wrk, server, app, mode, seconds, tag, profiles, key, url, database) -> dict:
    """One wrk run against one app, with the CPU its workers and database backends used."""
    api_path, bare_path, batch = MODES[mode]
    target = server.base_url + (api_path if app == "textpilot" else bare_path)
    workers = server.worker_pids()
    cpu_workers = harness.cpu_seconds(workers)
    backends_before = {pid: harness.cpu_seconds([pid]) for pid in database_backends(url, database)}
    result = run_wrk(wrk, target, seconds, tag, mode, profiles, key if app == "textpilot" else None, batch)
    result["worker_cpu_ms"] = (harness.cpu_seconds(workers) - cpu_workers) * 1000 / max(result["requests"], 1)
    # Backends opened during the phase count from zero; connections live longer than the run
    # (TEXTPILOT_DB_CONN_MAX_AGE below), so none closes mid-phase and takes its CPU with it.
    db_cpu = sum(harness.cpu_seconds([pid]) - backends_before.get(pid, 0) for pid in database_backends(url, database))
    result["db_cpu_ms"] = db_cpu * 1000 / max(result["requests"], 1)
    result["rate"] = result["ok"] / result["seconds"]
    result["events"] = result["ok"] * batch
    result["events_per_s"] = result["rate"] * batch
    return result


def median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def measure(url: str, database: str, data_dir: Path, sizes: dict) -> tuple[list, list]:
    wrk = require_wrk()
    env = harness.textpilot_env(url, data_dir, TEXTPILOT_LOG_LEVEL=os.environ.get("TEXTPILOT_BENCH_LOG_LEVEL", "INFO"),
                                TEXTPILOT_DB_CONN_MAX_AGE="3600")
    harness.migrate("postgresql", env, data_dir / "migrate.log")
    setup = subprocess.run([sys.executable, "-c", SETUP_SCRIPT, str(sizes["profiles"]), TABLE_SQL], env=env,
                           cwd=harness.ROOT, capture_output=True, text=True, timeout=600)
    if setup.returncode:
        raise RuntimeError(f"setup failed: {setup.stderr[-2000:]}")
    key = json.loads(setup.stdout.strip().splitlines()[-1])["key"]
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": "bare_ingest.settings"}

    servers = {"textpilot": Server(env, data_dir / "textpilot.log"),
               "bare": Server(bare_env, data_dir / "bare.log", app="bare_ingest.wsgi:application", pythonpath=harness.BENCH_DIR)}
    results: dict[tuple[str, str], list] = {}
    acknowledged = {"textpilot": 0, "bare": 0}
    in_flight_bound = {"textpilot": 0, "bare": 0}
    run_tag = f"r{os.getpid()}"
    try:
        for server in servers.values():
            server.wait_ready()
        for mode in MODES:
            batch = MODES[mode][2]
            for app, server in servers.items():  # warm-up: imports, connections, caches
                warm = phase(wrk, server, app, mode, sizes["warmup_seconds"], f"{run_tag}-{mode}-warm", sizes["profiles"],
                             key, url, database)
                acknowledged[app] += warm["events"]
                in_flight_bound[app] += CONNECTIONS * batch
            for round_no in range(sizes["rounds"]):
                for app, server in servers.items():
                    measured = phase(wrk, server, app, mode, sizes["seconds"], f"{run_tag}-{mode}-{round_no}",
                                     sizes["profiles"], key, url, database)
                    results.setdefault((app, mode), []).append(measured)
                    acknowledged[app] += measured["events"]
                    in_flight_bound[app] += CONNECTIONS * batch
    finally:
        for server in servers.values():
            server.stop()
    statements = subprocess.run([sys.executable, "-c", STATEMENTS_SCRIPT, key, str(BATCH)], env=env, cwd=harness.ROOT,
                                capture_output=True, text=True, timeout=120)
    if statements.returncode:
        raise RuntimeError(f"statement count failed: {statements.stderr[-2000:]}")
    counted = json.loads(statements.stdout.strip().splitlines()[-1])
    stored = {app: count_rows(url, COUNT_SQL[app]) for app in servers}
    stored["textpilot"] -= 2 + 2 * BATCH  # the statement-count requests

    metrics = []
    for mode in MODES:
        ours, bare = results[("textpilot", mode)], results[("bare", mode)]
        label, unit, key_name = (("single event: requests/s", "req/s", "rate") if mode == "single"
                                 else (f"batch of {BATCH}: events/s", "events/s", "events_per_s"))
        value, baseline = median(ours, key_name), median(bare, key_name)
        # Each round runs textpilot right after bare: the ratio of a pair is taken under the
        # same load from the rest of the box, so the median of the pairs' ratios is the figure.
        paired = statistics.median(o[key_name] / b[key_name] for o, b in zip(ours, bare))
        metrics += [
            harness.metric(label, value, unit, "", baseline, "bare Django + django-ninja, same run"),
            harness.metric(f"{mode}: textpilot / bare (median of {len(ours)} paired rounds)", paired, "×", "≥ 0.5"),
            harness.metric(f"{mode}: latency p50", median(ours, "p50_us") / 1000, "ms", "", median(bare, "p50_us") / 1000, "bare"),
            harness.metric(f"{mode}: latency p99", median(ours, "p99_us") / 1000, "ms", "", median(bare, "p99_us") / 1000, "bare"),
            harness.metric(f"{mode}: gunicorn worker CPU per request", median(ours, "worker_cpu_ms"), "ms", "",
                           median(bare, "worker_cpu_ms"), "bare"),
            harness.metric(f"{mode}: PostgreSQL backend CPU per request", median(ours, "db_cpu_ms"), "ms", "",
                           median(bare, "db_cpu_ms"), "bare"),
            harness.metric(f"{mode}: SQL statements per request", counted[mode], "statements", "", 1, "bare"),
        ]
    errors = sum(r["status_errors"] + r["timeouts"] for rs in results.values() for r in rs)
    metrics += [
        harness.metric("non-2xx answers and timeouts (measured rounds)", errors, "answers", "0"),
        harness.metric("textpilot events stored − acknowledged", stored["textpilot"] - acknowledged["textpilot"], "events",
                       f"0 … {in_flight_bound['textpilot']:,} (requests in flight when wrk stops)"),
    ]
    per_round = "; ".join(f"{app} {mode}: {[round(r['events_per_s']) for r in rs]}" for (app, mode), rs in results.items())
    notes = [f"Each round, events/s (= requests/s for single events): {per_round}.",
             "textpilot logs at INFO (one line per request, as in production); the bare app has no logging config."]
    return metrics, notes


def run(quick: bool = False, full: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    if not harness.pg_available():
        raise RuntimeError("this benchmark needs PostgreSQL (TEXTPILOT_BENCH_PG_URL)")
    started, machine = time.perf_counter(), harness.machine_info()  # the load average before the run
    work = Path(tempfile.mkdtemp(prefix="tp-bench-ingest-"))
    database = f"tp_bench_ingest_{os.getpid()}"
    url = harness.create_pg_database(database)
    try:
        metrics, notes = measure(url, database, work, sizes)
        version = harness.postgres_version(url)
    finally:
        harness.drop_pg_database(database)
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": NAME, "title": TITLE,
        "description": (__doc__ or "").strip().split("\n", 1)[1].strip().replace("\n", " "),
        "params": {**sizes, "batch": BATCH, "wrk_threads": WRK_THREADS, "connections": CONNECTIONS, "quick": quick},
        "machine": machine, "seconds": time.perf_counter() - started, "loadavg_after": harness.load_average(),
        "runs": [{"label": "PostgreSQL, gunicorn 2 sync workers per app, wrk on the same 2 cores",
                  "database": {"vendor": "postgresql", "version": version}, "metrics": metrics, "notes": notes}],
        "notes": [],
    }


if __name__ == "__main__":
    sys.exit(harness.run_standalone(run, __doc__))
