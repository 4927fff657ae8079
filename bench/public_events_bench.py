"""Public snippet intake: POST /api/public/v1/track and /identify over HTTP, with the per-IP limit.

For SQLite (a fresh file) and PostgreSQL (a fresh database), gunicorn with 2 sync workers on
127.0.0.1, clients sending what the storefront snippet sends (JSON as text/plain, public key in
the body) from many client IPs (X-Forwarded-For from a trusted proxy, 198.18.0.0/15):
  1. latency: one client, visitors one after another: 5 tracks then an identify each → p50/p95;
  2. throughput: 8 client threads, each with its own visitors → requests/s, with the limiter
     counting in the database, in Redis (PostgreSQL run, when Redis answers), and off — the
     run with the limiter off is the same-run baseline that shows what the limit costs;
  3. the limit across processes: 8 threads send 2× the limit from one IP inside one window
     to the 2 gunicorn workers → exactly `limit` answers 201, the rest 429.
Afterwards the database is checked: one event per accepted track, none left on merged profiles."""
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
from harness import Server

NAME = "public_events"
TITLE = "Public snippet intake: track/identify over HTTP, per-IP rate limit in the database or Redis"
CONCURRENCY = 8
TRACKS_PER_VISITOR = 5
RATE_LIMIT = 120
SIZES = {
    "quick": {"latency_visitors": 30, "throughput_visitors": 60, "phase_seconds": 20},
    "default": {"latency_visitors": 150, "throughput_visitors": 300, "phase_seconds": 60},
}
REDIS_URL = os.environ.get("TEXTPILOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

SETUP_SCRIPT = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.stores import service
store = service.create_store("Bench Store", slug="bench", timezone="UTC", currency="USD", country="US")
print(json.dumps({"key": store.public_key}))
"""

CHECK_SCRIPT = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.events.models import Event
from textpilot.profiles.models import Profile
print(json.dumps({
    "events": Event.objects.count(),
    "events_on_merged_profiles": Event.objects.filter(profile__merged_into__isnull=False).count(),
    "identified_profiles": Profile.objects.filter(merged_into__isnull=True, email__isnull=False).count(),
}))
"""


def client_ip(visitor: int) -> str:
    return f"198.18.{visitor // 250}.{visitor % 250 + 1}"


def visitor_calls(visitor: int, run: str) -> list[tuple[str, dict, str]]:
    """What one storefront visitor sends: (endpoint, body, client IP)."""
    vid = f"bench-{run}-{visitor:06d}"
    calls = [("track", {"anonymous_id": vid, "name": "Viewed Product", "properties": {"product_id": f"p-{i}", "price": 19.5}})
             for i in range(TRACKS_PER_VISITOR)]
    calls.append(("identify", {"anonymous_id": vid, "email": f"{vid}@example.com", "first_name": "Ann"}))
    return [(endpoint, body, client_ip(visitor)) for endpoint, body in calls]


def send_all(base_url: str, key: str, calls: list, deadline: float) -> tuple[list, list]:
    import httpx

    latencies, statuses = [], []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for endpoint, body, ip in calls:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            response = client.post(f"/api/public/v1/{endpoint}", content=json.dumps({"key": key, **body}),
                                   headers={"Content-Type": "text/plain", "X-Forwarded-For": ip,
                                            "Origin": "https://shop.example"})
            latencies.append(time.perf_counter() - started)
            statuses.append((endpoint, response.status_code))
    return latencies, statuses


def in_threads(base_url: str, key: str, call_lists: list[list], seconds: float) -> tuple[list, list, float]:
    """Each list runs in order in its own thread; returns all latencies, statuses and the wall time."""
    latencies, statuses, lock = [], [], threading.Lock()
    deadline = time.monotonic() + seconds

    def work(calls):
        got_latencies, got_statuses = send_all(base_url, key, calls, deadline)
        with lock:
            latencies.extend(got_latencies)
            statuses.extend(got_statuses)

    threads = [threading.Thread(target=work, args=(calls,)) for calls in call_lists]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started


def throughput(base_url: str, key: str, visitors: range, run: str, seconds: float) -> tuple[float, list, list]:
    per_thread = [[call for v in visitors if v % CONCURRENCY == t for call in visitor_calls(v, run)] for t in range(CONCURRENCY)]
    latencies, statuses, wall = in_threads(base_url, key, per_thread, seconds)
    return len(latencies) / wall, latencies, statuses


def wait_for_fresh_window(needed_seconds: float = 20) -> None:
    """Fixed one-minute windows: start the burst early in one so it does not straddle two."""
    into = time.time() % 60
    if into > 60 - needed_seconds:
        time.sleep(60 - into + 0.5)


def limit_burst(base_url: str, key: str, seconds: float) -> list[int]:
    # An address no earlier run has used, so no count is left over from one in the same minute.
    ip = f"198.19.{random.randrange(256)}.{random.randrange(1, 255)}"
    body = ("track", {"anonymous_id": "bench-burst-visitor", "name": "Viewed Product"}, ip)
    per_thread = [[body] * (2 * RATE_LIMIT // CONCURRENCY) for _ in range(CONCURRENCY)]
    wait_for_fresh_window()
    _, statuses, _ = in_threads(base_url, key, per_thread, seconds)
    return [status for _, status in statuses]


def _check(env: dict) -> dict:
    result = subprocess.run([sys.executable, "-c", CHECK_SCRIPT], env=env, cwd=harness.ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise RuntimeError(f"database check failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _serve(env: dict, log: Path) -> Server:
    server = Server(env, log)
    server.wait_ready()
    return server


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def measure_database(label: str, database_url: str | None, data_dir: Path, sizes: dict, with_redis: bool) -> dict:
    base_env = harness.textpilot_env(database_url, data_dir, TEXTPILOT_TRUSTED_PROXIES="127.0.0.1",
                                     TEXTPILOT_PUBLIC_RATE_PER_MIN=str(RATE_LIMIT))
    harness.migrate(label, base_env, data_dir / "migrate.log")
    key = harness.run_setup_script(label, base_env, SETUP_SCRIPT)["key"]
    n_latency, n_throughput, seconds = sizes["latency_visitors"], sizes["throughput_visitors"], sizes["phase_seconds"]

    variants = {"database": {}, "off": {"TEXTPILOT_PUBLIC_RATE_PER_MIN": "0"}}
    if with_redis:
        variants["redis"] = {"REDIS_URL": REDIS_URL}
    rates, statuses_all, next_visitor, metrics = {}, [], 10_000, []
    latency = burst = None
    for variant, extra in variants.items():
        server = _serve({**base_env, **extra}, data_dir / f"gunicorn-{variant}.log")
        try:
            _, warm_up = send_all(server.base_url, key, visitor_calls(next_visitor, f"warm-{variant}"), time.monotonic() + 30)
            statuses_all += warm_up
            next_visitor += 1
            if variant == "database":
                latencies, statuses = send_all(
                    server.base_url, key, [c for v in range(n_latency) for c in visitor_calls(v, "latency")], time.monotonic() + seconds)
                latency = (harness.latency_summary([t for t, (e, _) in zip(latencies, statuses) if e == "track"]),
                           harness.latency_summary([t for t, (e, _) in zip(latencies, statuses) if e == "identify"]))
                statuses_all += statuses
            visitors = range(next_visitor, next_visitor + n_throughput)
            next_visitor += n_throughput
            rates[variant], latencies, statuses = throughput(server.base_url, key, visitors, variant, seconds)
            statuses_all += statuses
            if variant != "off":
                burst = limit_burst(server.base_url, key, seconds)
                metrics.append(harness.metric(
                    f"one IP, {2 * RATE_LIMIT} requests in one window, limiter in {variant}: accepted",
                    burst.count(201), "requests", f"= {RATE_LIMIT}"))
                metrics.append(harness.metric(f"… answered 429 (limiter in {variant})", burst.count(429), "requests", f"= {RATE_LIMIT}"))
                statuses_all += [("track", status) for status in burst]
        finally:
            server.stop()

    check = _check(base_env)
    accepted_tracks = sum(1 for endpoint, status in statuses_all if endpoint == "track" and status == 201)
    unexpected = sum(1 for endpoint, status in statuses_all if status not in (200, 201, 429))
    for op, summary in (("track", latency[0]), ("identify (merges the visitor)", latency[1])):
        metrics += [harness.metric(f"{op} latency {p} (1 client)", summary[f"{p}_ms"], "ms") for p in ("p50", "p95", "p99")]
    for variant in ("database", "redis"):
        if variant in rates:
            metrics.append(harness.metric(f"throughput, {CONCURRENCY} clients, limiter in {variant}", rates[variant], "req/s", "",
                                          rates["off"], "limiter off"))
    metrics += [
        harness.metric("events stored", check["events"], "events", f"= {accepted_tracks} (tracks answered 201)"),
        harness.metric("events left on merged (anonymous) profiles", check["events_on_merged_profiles"], "", "0"),
        harness.metric("answers other than 200/201/429", unexpected, "", "0"),
    ]
    return {"metrics": metrics, "notes": [f"{check['events']} events, {check['identified_profiles']} identified profiles at the end."]}


def run(quick: bool = False, full: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="tp-bench-public-"))
    runs, notes = [], []
    try:
        data_dir = work / "sqlite"
        data_dir.mkdir()
        measured = measure_database("sqlite", None, data_dir, sizes, with_redis=False)
        runs.append({"label": "SQLite (WAL), gunicorn 2 sync workers", "database": {"vendor": "sqlite", "version": harness.sqlite_version()}, **measured})
        if harness.pg_available():
            db = f"tp_bench_public_{os.getpid()}"
            url = harness.create_pg_database(db)
            try:
                data_dir = work / "pg"
                data_dir.mkdir()
                with_redis = _redis_available()
                if not with_redis:
                    notes.append(f"Redis was not reachable at {REDIS_URL}; the Redis limiter was not measured.")
                measured = measure_database("postgresql", url, data_dir, sizes, with_redis=with_redis)
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
        "description": (__doc__ or "").strip().split("\n", 1)[1].strip().replace("\n", " "),
        "params": {**sizes, "concurrency": CONCURRENCY, "tracks_per_visitor": TRACKS_PER_VISITOR, "rate_limit_per_min": RATE_LIMIT, "quick": quick},
        "machine": harness.machine_info(),
        "seconds": time.perf_counter() - started,
        "runs": runs,
        "notes": notes,
    }


if __name__ == "__main__":
    # Also runnable on its own: python bench/public_events_bench.py [--quick]
    result = run(quick="--quick" in sys.argv)
    print(f"saved {harness.save_result(result)}; wrote {harness.regenerate_results_md()}")
    for measured in result["runs"]:
        print(measured["label"])
        for m in measured["metrics"]:
            print(f"  {m['metric']}: {harness._fmt(m['value'], m['unit'])}")
