"""Shopify webhook burst: 10,000 signed webhooks (20 % duplicates, order updates out of order).

For SQLite (a fresh file, SQLite queue) and PostgreSQL (a fresh database, Redis queue when it
answers): gunicorn with 2 sync workers on 127.0.0.1 and one `textpilot worker` process
(4 threads). 8 client threads post what Shopify posts: raw JSON signed with
X-Shopify-Hmac-SHA256, X-Shopify-Topic / -Webhook-Id / -Shop-Domain headers. The stream:
customers/create for each customer, then every order in 5 versions (orders/create, paid,
updated, partially refunded, refunded/cancelled) with rising `updated_at`, all shuffled so an
order's versions arrive in any order, plus 20 % of the webhooks sent a second time with the
same webhook id. Measured: answer latency (Shopify wants < 5 s), accepted webhooks/s, and the
time until the worker has processed everything. Then the final state is checked against the
newest version of every order (total, payment status, cancellation), every profile's rollups
against those orders, and that nothing was stored or emitted twice."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import Server  # noqa: E402

NAME = "shopify_webhook_burst"
TITLE = "Shopify webhooks: 10,000-webhook burst with duplicates and out-of-order updates"
SHOP = "bench-shop.myshopify.com"
SECRET = "shpss_bench_secret"
CONCURRENCY = 8
WORKER_THREADS = 4
VERSIONS = 5
DUPLICATE_SHARE = 0.20
SIZES = {"quick": 1_000, "default": 10_000}
DRAIN_TIMEOUT = 900
REDIS_URL = os.environ.get("TEXTPILOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
COUNTED = {"pending", "authorized", "paid", "partially_refunded"}

CHECK_SCRIPT = """
import json, sys
from decimal import Decimal
from textpilot.commerce import stats as customer_stats
from textpilot.commerce.models import Order
from textpilot.events.models import Event
from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.profiles.models import Profile
expected = json.load(open(sys.argv[-1]))
wrong = []
for order in Order.objects.select_related("profile"):
    want = expected["orders"].get(order.external_id)
    got = {"total": str(order.total), "payment_status": order.payment_status, "cancelled": order.cancelled_at is not None,
           "customer": order.profile.external_id if order.profile else None}
    if got != want:
        wrong.append({"order": order.external_id, "got": got, "want": want})
rollups_wrong = 0
customers = list(Profile.objects.filter(external_id__isnull=False).select_related("store"))
stats = {}
for store in {profile.store for profile in customers}:
    stats.update(customer_stats.for_profiles(store, [p.pk for p in customers if p.store_id == store.pk]))
for profile in customers:
    want = expected["rollups"].get(profile.external_id, {"orders": 0, "spent": "0.00"})
    got = stats[profile.pk]
    if got.orders_count != want["orders"] or got.total_spent != Decimal(want["spent"]):
        rollups_wrong += 1
from django.db.models import Count
dup_events = Event.objects.values("profile", "name", "properties__order_id").annotate(n=Count("id")).filter(n__gt=1).count()
print(json.dumps({
    "orders": Order.objects.count(), "orders_expected": len(expected["orders"]), "orders_wrong": len(wrong), "wrong_sample": wrong[:3],
    "profiles": Profile.objects.filter(merged_into__isnull=True).count(), "rollups_wrong": rollups_wrong,
    "placed_order_events": Event.objects.filter(name="placed_order").count(), "duplicate_events": dup_events,
    "deliveries": dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
}))
"""


def sign(body: bytes) -> str:
    import base64
    import hashlib
    import hmac

    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def build_stream(total: int, seed: int = 7) -> tuple[list[dict], dict]:
    """The webhooks to post (each: topic, webhook id, body) and the state they must end in."""
    rng = random.Random(seed)
    unique = round(total * (1 - DUPLICATE_SHARE))
    customers = max(1, unique // 16)
    orders = (unique - customers) // VERSIONS
    customers += unique - customers - orders * VERSIONS  # use up the rounding
    webhooks, expected = [], {"orders": {}, "rollups": {}}
    for c in range(1, customers + 1):
        webhooks.append({"topic": "customers/create", "id": f"c-{c}", "body": {
            "id": 9_000_000 + c, "email": f"buyer{c}@example.com", "phone": f"+1503{5550000 + c:07d}"[:12],
            "first_name": f"Buyer{c}", "last_name": "Bench", "updated_at": "2025-01-01T00:00:00Z",
            "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": "2025-01-01T00:00:00Z"},
        }})
    stages = [("orders/create", "pending", False), ("orders/paid", "paid", False), ("orders/updated", "paid", False),
              ("orders/updated", "partially_refunded", False), ("orders/cancelled", "refunded", True)]
    for o in range(1, orders + 1):
        order_id, customer = 5_000_000_000 + o, 1 + rng.randrange(customers)
        last_stage = rng.choice([2, 3, 4])  # how far this order got; later versions exist only up to there
        for v in range(VERSIONS):
            topic, status, cancelled = stages[min(v, last_stage)]
            amount = f"{20 + (o % 50) + v * 1.25:.2f}"
            body = {
                "id": order_id, "name": f"#{o}", "email": f"buyer{customer}@example.com", "currency": "USD",
                "created_at": "2025-02-01T00:00:00Z", "processed_at": "2025-02-01T00:00:00Z",
                "updated_at": f"2025-02-01T{v:02d}:{o % 60:02d}:00Z", "financial_status": status, "total_price": amount,
                "current_total_price": amount, "cancelled_at": f"2025-02-01T{v:02d}:00:00Z" if cancelled else None,
                "line_items": [{"title": "Bench item", "quantity": 1 + v % 2, "price": amount, "sku": "B-1", "product_id": 77}],
                "discount_codes": [], "shipping_lines": [], "fulfillments": [],
                "customer": {"id": 9_000_000 + customer, "email": f"buyer{customer}@example.com", "updated_at": "2025-01-01T00:00:00Z"},
            }
            webhooks.append({"topic": topic, "id": f"o-{o}-{v}", "body": body})
        final = webhooks[-1]["body"]
        expected["orders"][str(order_id)] = {"total": final["current_total_price"], "payment_status": final["financial_status"],
                                             "cancelled": final["cancelled_at"] is not None, "customer": str(9_000_000 + customer)}
        if final["financial_status"] in COUNTED and final["cancelled_at"] is None:
            roll = expected["rollups"].setdefault(str(9_000_000 + customer), {"orders": 0, "spent": "0.00"})
            roll["orders"] += 1
            roll["spent"] = f"{float(roll['spent']) + float(final['current_total_price']):.2f}"
    rng.shuffle(webhooks)  # versions of one order now arrive in any order
    duplicates = [dict(w) for w in rng.sample(webhooks, total - len(webhooks))]
    for duplicate in duplicates:  # a resend lands anywhere after the first send
        webhooks.insert(rng.randrange(len(webhooks) + 1), duplicate)
    first_seen, ordered = set(), []
    for w in webhooks:  # the copy that comes first is the original; keep the stream as is
        ordered.append({**w, "duplicate": w["id"] in first_seen})
        first_seen.add(w["id"])
    return ordered, expected


def post_all(base_url: str, webhooks: list[dict]) -> tuple[list[float], dict, float]:
    import httpx

    queue, lock = list(reversed(webhooks)), threading.Lock()
    latencies, statuses = [], {}

    def worker():
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    w = queue.pop()
                body = json.dumps(w["body"]).encode()
                headers = {"Content-Type": "application/json", "X-Shopify-Hmac-SHA256": sign(body), "X-Shopify-Topic": w["topic"],
                           "X-Shopify-Webhook-Id": w["id"], "X-Shopify-Shop-Domain": SHOP, "X-Shopify-API-Version": "2025-01"}
                started = time.perf_counter()
                response = client.post("/webhooks/shopify/bench", content=body, headers=headers)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses, time.perf_counter() - started


def delivery_counts(database_url: str | None, sqlite_path: Path) -> dict:
    sql = "SELECT status, count(*) FROM shopify_webhookdelivery GROUP BY status"
    if database_url:
        import psycopg

        with psycopg.connect(database_url, autocommit=True) as conn:
            return dict(conn.execute(sql).fetchall())
    import sqlite3

    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=30)
    try:
        return dict(conn.execute(sql).fetchall())
    finally:
        conn.close()


def run_backend(label: str, database_url: str | None, version: str, total: int, scratch: Path, extra_env: dict) -> dict:
    data_dir = scratch / label.split()[0].lower()
    data_dir.mkdir(parents=True)
    env = harness.textpilot_env(database_url, data_dir, TEXTPILOT_WORKER_THREADS=str(WORKER_THREADS), **extra_env)

    def manage(*args, timeout=300):
        return subprocess.run(harness.textpilot(*args), env=env, cwd=harness.ROOT, capture_output=True, text=True, timeout=timeout, check=True).stdout

    manage("migrate", "--noinput")
    manage("create_store", "--name", "Bench Shop", "--slug", "bench")
    manage("shopify_connect", "bench", SHOP, "--access-token", "shpat_bench", "--webhook-secret", SECRET)
    webhooks, expected = build_stream(total)
    expected_path = data_dir / "expected.json"
    expected_path.write_text(json.dumps(expected))

    server = Server(env, data_dir / "gunicorn.log")
    worker_log = open(data_dir / "worker.log", "w")
    worker = subprocess.Popen(harness.textpilot("worker"), env=env, cwd=harness.ROOT, stdout=worker_log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        server.wait_ready()
        started = time.perf_counter()
        latencies, statuses, send_seconds = post_all(server.base_url, webhooks)
        unique = sum(1 for w in webhooks if not w["duplicate"])
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while True:
            counts = delivery_counts(database_url, data_dir / "textpilot.sqlite3")
            waiting = counts.get("pending", 0) + counts.get("failed", 0)
            if (sum(counts.values()) >= unique and waiting == 0) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        drain_seconds = time.perf_counter() - started
    finally:
        server.stop()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()
    check = json.loads(manage("shell", "-c", CHECK_SCRIPT.replace("sys.argv[-1]", repr(str(expected_path)))).strip().splitlines()[-1])
    if extra_env.get("REDIS_URL"):
        manage("shell", "-c", "from huey.contrib.djhuey import HUEY; HUEY.flush()")

    lat = harness.latency_summary(latencies)
    ok = (statuses == {200: len(webhooks)} and check["orders"] == check["orders_expected"] and check["orders_wrong"] == 0
          and check["rollups_wrong"] == 0 and check["duplicate_events"] == 0 and check["placed_order_events"] == check["orders_expected"]
          and check["deliveries"].get("failed", 0) == 0 and check["deliveries"].get("pending", 0) == 0
          and sum(check["deliveries"].values()) == unique)
    print(f"  {label}: {json.dumps({'statuses': statuses, 'check': check})}", flush=True)
    if not ok:
        raise AssertionError(f"{label}: final state differs from the newest payloads: {check}, statuses {statuses}")
    return {
        "label": label,
        "database": {"vendor": label.split()[0], "version": version},
        "metrics": [
            harness.metric("webhooks posted", len(webhooks), "webhooks"),
            harness.metric("answered 200", statuses.get(200, 0), "webhooks", target=f"all {len(webhooks):,}"),
            harness.metric("answer latency p50", round(lat["p50_ms"], 1), "ms"),
            harness.metric("answer latency p95", round(lat["p95_ms"], 1), "ms"),
            harness.metric("answer latency p99", round(lat["p99_ms"], 1), "ms", target="< 5,000 ms (Shopify's limit)"),
            harness.metric("answer latency max", round(lat["max_ms"], 1), "ms"),
            harness.metric("accepted", round(len(webhooks) / send_seconds, 1), "webhooks/s"),
            harness.metric("all processed after", round(drain_seconds, 1), "s", baseline=round(send_seconds, 1), baseline_label="posting took"),
            harness.metric("processed", round(unique / drain_seconds, 1), "deliveries/s"),
            harness.metric("stored deliveries", sum(check["deliveries"].values()), "", target=f"{unique:,} (duplicates not stored)"),
            harness.metric("ignored as older than stored state", check["deliveries"].get("ignored", 0), "deliveries"),
            harness.metric("orders wrong vs newest payload", check["orders_wrong"], "", target="0"),
            harness.metric("profiles with wrong rollups", check["rollups_wrong"], "", target="0"),
        ],
        "notes": [f"{len(webhooks) - unique:,} duplicates; {check['orders_expected']:,} orders in {VERSIONS} versions each; "
                  f"{check['profiles']:,} profiles; queue {'Redis' if extra_env.get('REDIS_URL') else 'SQLite'}"],
    }


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except Exception:  # noqa: BLE001 - no Redis here: the PostgreSQL run uses the SQLite queue
        return False


def run(quick: bool = False, full: bool = False) -> dict:
    total = SIZES["quick" if quick else "default"]
    scratch = Path(tempfile.mkdtemp(prefix="shopify-burst-"))
    started = time.perf_counter()
    runs = []
    try:
        runs.append(run_backend("SQLite", None, harness.sqlite_version(), total, scratch, {}))
        if harness.pg_available():
            db = f"bench_shopify_burst_{os.getpid()}"
            url = harness.create_pg_database(db)
            try:
                queue = {"REDIS_URL": REDIS_URL, "TEXTPILOT_QUEUE_NAME": db} if _redis_answers() else {}
                runs.append(run_backend("PostgreSQL", url, harness.postgres_version(url), total, scratch, queue))
            finally:
                harness.drop_pg_database(db)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "name": NAME, "title": TITLE, "description": (__doc__ or "").strip().splitlines()[0],
        "params": {"webhooks": total, "duplicates": f"{DUPLICATE_SHARE:.0%}", "versions_per_order": VERSIONS,
                   "client_threads": CONCURRENCY, "gunicorn_workers": 2, "worker_threads": WORKER_THREADS},
        "machine": harness.machine_info(), "started_at": harness.machine_info()["date"],
        "seconds": round(time.perf_counter() - started, 1), "runs": runs, "notes": [],
    }


if __name__ == "__main__":
    result = run(quick="--quick" in sys.argv)
    path = harness.save_result(result)
    for backend in result["runs"]:
        print(backend["label"])
        for m in backend["metrics"]:
            print(f"  {m['metric']}: {harness._fmt(m['value'], m['unit'])}")
    print(f"saved {path.relative_to(harness.ROOT)}")
