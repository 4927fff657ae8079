"""Profile API latency and throughput over real HTTP, against the same work done in-process.

For SQLite (a fresh file) and PostgreSQL (a fresh database): migrate, create a store and an
API key through the services, start gunicorn (`textpilot.wsgi`, 2 sync workers — what
`textpilot serve` runs) on a free port of 127.0.0.1, then with httpx:
  1. latency: sequential `POST /api/v1/profiles` and `GET /api/v1/profiles/{id}` (one client,
     keep-alive) → p50/p95/p99;
  2. throughput: the same calls from 8 client threads → requests/s.
Every phase is bounded in request count and in time. The server is stopped at the end.
Baseline, same run, same database: `profiles.service.create_profile` / `get_profile`
called in-process (no HTTP, no auth, no JSON), one thread, in a fresh store. The load
generator shares the 2 cores with the server, so the HTTP figures are conservative."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness

NAME = "profile_api"
TITLE = "Profile API: POST/GET /api/v1/profiles over HTTP vs in-process service calls"
CONCURRENCY = 8
SIZES = {
    "quick": {"latency": 200, "throughput": 400, "phase_seconds": 20},
    "default": {"latency": 1000, "throughput": 2000, "phase_seconds": 60},
}

SETUP_SCRIPT = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.stores import service
store = service.create_store("Bench Store", slug="bench", timezone="UTC", currency="USD", country="US")
_, key = service.create_api_key(store, "bench")
print(json.dumps({"key": key}))
"""

INPROCESS_SCRIPT = """
import json, os, random, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.profiles import service as profiles
from textpilot.stores import service as stores
payloads = json.loads(sys.stdin.read())
store = stores.create_store("Bench In-process", slug="bench-inprocess", timezone="UTC", currency="USD", country="US")
create, read, ids = [], [], []
started = time.perf_counter()
for payload in payloads:
    t = time.perf_counter()
    ids.append(profiles.create_profile(store, **payload).pk)
    create.append(time.perf_counter() - t)
create_wall = time.perf_counter() - started
rng = random.Random(1)
started = time.perf_counter()
for _ in range(len(payloads)):
    t = time.perf_counter()
    profiles.get_profile(store, rng.choice(ids))
    read.append(time.perf_counter() - t)
read_wall = time.perf_counter() - started
print(json.dumps({"create": create, "read": read, "create_wall": create_wall, "read_wall": read_wall}))
"""


def payloads(count: int, offset: int, seed: int) -> list[dict]:
    """`count` create-profile bodies with unique valid phones and emails (one call per store:
    the phone sequence of a seed always starts at the same number)."""
    from textpilot.demo.generator import PhoneBook

    phones = PhoneBook(seed)
    out = []
    cities = (("New York", "212"), ("Boston", "617"), ("Chicago", "312"), ("Seattle", "206"))
    for i in range(offset, offset + count):
        city, area = cities[i % len(cities)]
        out.append({
            "phone": phones.next("US", area), "email": f"bench{seed}-{i}@example.com", "first_name": "Ann", "last_name": f"Lee{i}",
            "country": "US", "city": city, "timezone": "America/New_York", "language": "en",
            "properties": {"plan": "bench", "i": i}, "source": "api",
        })
    return out


def _client(base_url: str, key: str):
    import httpx

    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def sequential(base_url, key, calls, seconds_limit):
    """calls: list of (method, path, json). Returns (latencies, statuses, wall, responses)."""
    latencies, statuses, bodies = [], [], []
    deadline = time.monotonic() + seconds_limit
    started = time.perf_counter()
    with _client(base_url, key) as client:
        for method, path, body in calls:
            if time.monotonic() > deadline:
                break
            t = time.perf_counter()
            response = client.request(method, path, json=body)
            latencies.append(time.perf_counter() - t)
            statuses.append(response.status_code)
            bodies.append(response)
    return latencies, statuses, time.perf_counter() - started, bodies


def concurrent(base_url, key, calls, seconds_limit, threads=CONCURRENCY):
    latencies, statuses, ids = [], [], []
    lock = threading.Lock()
    position = [0]
    deadline = time.monotonic() + seconds_limit

    def work():
        with _client(base_url, key) as client:
            while time.monotonic() < deadline:
                with lock:
                    if position[0] >= len(calls):
                        return
                    method, path, body = calls[position[0]]
                    position[0] += 1
                t = time.perf_counter()
                response = client.request(method, path, json=body)
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
                    statuses.append(response.status_code)
                    if method == "POST" and response.status_code == 201:
                        ids.append(response.json()["id"])

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, statuses, time.perf_counter() - started, ids


def _ok_share(statuses, expected):
    return sum(1 for s in statuses if s == expected) / len(statuses) if statuses else 0.0


def measure_database(label: str, database_url: str | None, data_dir: Path, sizes: dict, seed: int) -> dict:
    env = harness.textpilot_env(database_url, data_dir, TEXTPILOT_WEB_WORKERS="2")
    harness.migrate(label, env, data_dir / "migrate.log")
    key = harness.run_setup_script(label, env, SETUP_SCRIPT)["key"]

    n_lat, n_thr, limit = sizes["latency"], sizes["throughput"], sizes["phase_seconds"]
    bodies = payloads(20 + n_lat + n_thr, 0, seed)
    warmup, create_seq, create_con = bodies[:20], bodies[20:20 + n_lat], bodies[20 + n_lat:]
    server = harness.Server(env, data_dir / "gunicorn.log")
    try:
        server.wait_ready()
        # Warm-up (imports, connections, first queries) on throwaway profiles.
        sequential(server.base_url, key, [("POST", "/api/v1/profiles", p) for p in warmup], 30)

        lat_create, st_create, wall_create, responses = sequential(
            server.base_url, key, [("POST", "/api/v1/profiles", p) for p in create_seq], limit)
        ids = [r.json()["id"] for r in responses if r.status_code == 201]
        rng = random.Random(seed)
        reads = [("GET", f"/api/v1/profiles/{rng.choice(ids)}", None) for _ in range(n_lat)]
        lat_read, st_read, wall_read, _ = sequential(server.base_url, key, reads, limit)

        thr_create, st_thr_create, wall_thr_create, new_ids = concurrent(
            server.base_url, key, [("POST", "/api/v1/profiles", p) for p in create_con], limit)
        all_ids = ids + new_ids
        thr_reads = [("GET", f"/api/v1/profiles/{rng.choice(all_ids)}", None) for _ in range(n_thr)]
        thr_read, st_thr_read, wall_thr_read, _ = concurrent(server.base_url, key, thr_reads, limit)
    finally:
        server.stop()

    inprocess = subprocess.run([sys.executable, "-c", INPROCESS_SCRIPT], env=env, cwd=harness.ROOT, capture_output=True,
                               text=True, timeout=600, input=json.dumps(payloads(n_lat, 0, seed + 7)))
    if inprocess.returncode:
        raise RuntimeError(f"in-process baseline failed on {label}: {inprocess.stderr[-2000:]}")
    base = json.loads(inprocess.stdout.strip().splitlines()[-1])
    base_create, base_read = harness.latency_summary(base["create"]), harness.latency_summary(base["read"])
    seq_create, seq_read = harness.latency_summary(lat_create), harness.latency_summary(lat_read)

    metrics = []
    for op, seq, basel in (("POST /api/v1/profiles", seq_create, base_create), ("GET /api/v1/profiles/{id}", seq_read, base_read)):
        for p in ("p50", "p95", "p99"):
            metrics.append(harness.metric(f"{op} latency {p} (sequential)", seq[f"{p}_ms"], "ms", "",
                                          basel[f"{p}_ms"], "service call in-process"))
    metrics += [
        harness.metric("POST throughput, 1 client", len(lat_create) / wall_create, "req/s", "",
                       len(base["create"]) / base["create_wall"], "service calls/s, 1 thread"),
        harness.metric("GET throughput, 1 client", len(lat_read) / wall_read, "req/s", "",
                       len(base["read"]) / base["read_wall"], "service calls/s, 1 thread"),
        harness.metric(f"POST throughput, {CONCURRENCY} clients", len(thr_create) / wall_thr_create, "req/s", "",
                       len(base["create"]) / base["create_wall"], "service calls/s, 1 thread"),
        harness.metric(f"GET throughput, {CONCURRENCY} clients", len(thr_read) / wall_thr_read, "req/s", "",
                       len(base["read"]) / base["read_wall"], "service calls/s, 1 thread"),
    ]
    con_create, con_read = harness.latency_summary(thr_create), harness.latency_summary(thr_read)
    metrics += [
        harness.metric(f"POST latency p95, {CONCURRENCY} clients", con_create["p95_ms"], "ms"),
        harness.metric(f"GET latency p95, {CONCURRENCY} clients", con_read["p95_ms"], "ms"),
        harness.metric("requests sent (all phases)", len(lat_create) + len(lat_read) + len(thr_create) + len(thr_read), "requests"),
        harness.metric("share of expected answers (201 / 200)", min(_ok_share(st_create + st_thr_create, 201), _ok_share(st_read + st_thr_read, 200)) * 100, "%", "100 %"),
    ]
    return {"metrics": metrics}


def run(quick: bool = False, full: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    machine = harness.machine_info()  # before the run: its load average is the "before" figure
    work = Path(tempfile.mkdtemp(prefix="tp-bench-api-"))
    runs, notes = [], []
    try:
        data_dir = work / "sqlite"
        data_dir.mkdir()
        measured = measure_database("sqlite", None, data_dir, sizes, seed=1)
        runs.append({"label": "SQLite (WAL), gunicorn 2 sync workers", "database": {"vendor": "sqlite", "version": harness.sqlite_version()}, **measured})
        if harness.pg_available():
            db = f"tp_bench_api_{os.getpid()}"
            url = harness.create_pg_database(db)
            try:
                data_dir = work / "pg"
                data_dir.mkdir()
                measured = measure_database("postgresql", url, data_dir, sizes, seed=2)
                runs.append({"label": "PostgreSQL, gunicorn 2 sync workers", "database": {"vendor": "postgresql", "version": harness.postgres_version(url)}, **measured})
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
        "params": {**sizes, "concurrency": CONCURRENCY, "quick": quick},
        "machine": machine,
        "seconds": time.perf_counter() - started,
        "runs": runs,
        "notes": notes,
    }
