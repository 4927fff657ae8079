"""Event intake over HTTP: POST /api/v1/events (single) and /api/v1/events/batch (100 per call).

For SQLite (a fresh file) and PostgreSQL (a fresh database): migrate, create a store and an
API key, start gunicorn (`textpilot.wsgi`, 2 sync workers) on a free 127.0.0.1 port, then:
  1. single events, one client, keep-alive → latency p50/p95/p99 (target p99 < 50 ms);
  2. single events from 8 client threads → events/s;
  3. batches of 100 events from 4 client threads → sustained events/s (target ≥ 5,000/s);
then check the database holds exactly the events sent. Profiles are the known ones a store
sees in steady state (created by a warm-up batch). Every phase is bounded in count and time.
Baseline, same run, same database: `events.tracking.track_events` called in-process with
the same batches (no HTTP, no JSON, no auth). The load generator shares the 2 cores."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness
from harness import Server
from profile_api_bench import SETUP_SCRIPT, sequential

NAME = "events_api"
TITLE = "Event intake: POST /api/v1/events and /events/batch over HTTP vs in-process"
SIZES = {
    "quick": {"profiles": 500, "single": 300, "single_threads": 400, "batches": 40, "phase_seconds": 20},
    "default": {"profiles": 2000, "single": 1000, "single_threads": 3000, "batches": 300, "phase_seconds": 60},
}
BATCH = 100
SINGLE_THREADS, BATCH_THREADS = 8, 4

COUNT_SCRIPT = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.events.models import Event
print(Event.objects.filter(store__slug="bench").count())
"""

INPROCESS_SCRIPT = """
import json, os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.events import tracking
from textpilot.stores import service as stores
batches = json.loads(sys.stdin.read())
store = stores.create_store("Bench In-process", slug="bench-inprocess", timezone="UTC", currency="USD", country="US")
tracking.track_events(store, batches[0])  # creates the profiles, like the HTTP warm-up
started = time.perf_counter()
for batch in batches[1:]:
    tracking.track_events(store, batch)
print(json.dumps({"events": sum(len(b) for b in batches[1:]), "seconds": time.perf_counter() - started}))
"""


def event(i: int, profiles: int) -> dict:
    return {
        "name": ("viewed_product", "added_to_cart", "started_checkout")[i % 3],
        "profile": {"email": f"shopper{i % profiles}@example.com"},
        "properties": {"product_id": str(1000 + i % 50), "price": "24.90", "currency": "USD", "i": i},
    }


def threaded(base_url, key, calls, threads, seconds_limit):
    """calls: list of (path, body). Returns (latencies, statuses, wall seconds)."""
    import httpx

    latencies, statuses, lock, position = [], [], threading.Lock(), [0]
    deadline = time.monotonic() + seconds_limit

    def work():
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    if position[0] >= len(calls):
                        return
                    path, body = calls[position[0]]
                    position[0] += 1
                t = time.perf_counter()
                response = client.post(path, json=body)
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    statuses.append(response.status_code)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, statuses, time.perf_counter() - started


def measure_database(label: str, database_url: str | None, data_dir: Path, sizes: dict) -> dict:
    env = harness.textpilot_env(database_url, data_dir)
    harness.migrate(label, env, data_dir / "migrate.log")
    key = harness.run_setup_script(label, env, SETUP_SCRIPT)["key"]

    n_profiles = sizes["profiles"]
    warmup = [[event(i, n_profiles) for i in range(start, min(start + BATCH * 10, n_profiles))]
              for start in range(0, n_profiles, BATCH * 10)]
    single = [("/api/v1/events", event(i, n_profiles)) for i in range(sizes["single"])]
    single_many = [("/api/v1/events", event(i, n_profiles)) for i in range(sizes["single_threads"])]
    batches = [[event(b * BATCH + j, n_profiles) for j in range(BATCH)] for b in range(sizes["batches"])]
    limit = sizes["phase_seconds"]

    server = Server(env, data_dir / "gunicorn.log")
    sent = 0
    try:
        server.wait_ready()
        for chunk in warmup:  # known profiles, as in steady state
            _, statuses, _, _ = sequential(server.base_url, key, [("POST", "/api/v1/events/batch", {"events": chunk})], 120)
            assert statuses == [200], statuses
            sent += len(chunk)
        lat_single, st_single, wall_single, _ = sequential(server.base_url, key, [("POST", p, b) for p, b in single], limit)
        lat_many, st_many, wall_many = threaded(server.base_url, key, single_many, SINGLE_THREADS, limit)
        lat_batch, st_batch, wall_batch = threaded(
            server.base_url, key, [("/api/v1/events/batch", {"events": b}) for b in batches], BATCH_THREADS, limit)
        sent += sum(1 for s in st_single if s == 201) + sum(1 for s in st_many if s == 201) + BATCH * sum(1 for s in st_batch if s == 200)
    finally:
        server.stop()
    stored = int(subprocess.run([sys.executable, "-c", COUNT_SCRIPT], env=env, cwd=harness.ROOT, capture_output=True,
                                text=True, timeout=120, check=True).stdout.strip().splitlines()[-1])

    inprocess = subprocess.run([sys.executable, "-c", INPROCESS_SCRIPT], env=env, cwd=harness.ROOT, capture_output=True,
                               text=True, timeout=900, input=json.dumps([warmup[0], *batches]))
    if inprocess.returncode:
        raise RuntimeError(f"in-process baseline failed on {label}: {inprocess.stderr[-2000:]}")
    base = json.loads(inprocess.stdout.strip().splitlines()[-1])
    base_rate = base["events"] / base["seconds"]

    single_lat, many_lat, batch_lat = (harness.latency_summary(x) for x in (lat_single, lat_many, lat_batch))
    batch_events = BATCH * len(lat_batch)
    return {"metrics": [
        harness.metric("single event latency p50 (1 client)", single_lat["p50_ms"], "ms"),
        harness.metric("single event latency p95 (1 client)", single_lat["p95_ms"], "ms"),
        harness.metric("single event latency p99 (1 client)", single_lat["p99_ms"], "ms", "< 50 ms"),
        harness.metric(f"single events/s ({SINGLE_THREADS} clients)", len(lat_many) / wall_many, "events/s", "≥ 5,000 events/s",
                       base_rate, "in-process track_events, batches of 100"),
        harness.metric(f"single event latency p99 ({SINGLE_THREADS} clients)", many_lat["p99_ms"], "ms"),
        harness.metric(f"batch of {BATCH}: events/s sustained ({BATCH_THREADS} clients)", batch_events / wall_batch, "events/s",
                       "≥ 5,000 events/s", base_rate, "in-process track_events, batches of 100"),
        harness.metric(f"batch of {BATCH}: request latency p99 ({BATCH_THREADS} clients)", batch_lat["p99_ms"], "ms"),
        harness.metric("events accepted vs stored", stored - sent, "difference", "0"),
        harness.metric("non-2xx answers", sum(1 for s in st_single + st_many + st_batch if s >= 300), "answers", "0"),
    ]}


def run(quick: bool = False, full: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="tp-bench-events-"))
    runs, notes = [], []
    try:
        data_dir = work / "sqlite"
        data_dir.mkdir()
        runs.append({"label": "SQLite (WAL), gunicorn 2 sync workers", "database": {"vendor": "sqlite", "version": harness.sqlite_version()},
                     **measure_database("sqlite", None, data_dir, sizes)})
        if harness.pg_available():
            db = f"tp_bench_events_{os.getpid()}"
            url = harness.create_pg_database(db)
            try:
                data_dir = work / "pg"
                data_dir.mkdir()
                runs.append({"label": "PostgreSQL, gunicorn 2 sync workers", "database": {"vendor": "postgresql", "version": harness.postgres_version(url)},
                             **measure_database("postgresql", url, data_dir, sizes)})
            finally:
                harness.drop_pg_database(db)
        else:
            notes.append("PostgreSQL was not reachable (TEXTPILOT_BENCH_PG_URL); only SQLite was measured.")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": NAME, "title": TITLE,
        "description": (__doc__ or "").strip().split("\n", 1)[1].strip().replace("\n", " "),
        "params": {**sizes, "batch": BATCH, "single_threads": SINGLE_THREADS, "batch_threads": BATCH_THREADS, "quick": quick},
        "machine": harness.machine_info(), "seconds": time.perf_counter() - started, "runs": runs, "notes": notes,
    }
