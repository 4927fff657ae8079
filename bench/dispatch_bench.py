"""Dispatcher: messages/s of one `textpilot dispatch` process against the sim carrier, and rate-limit accuracy.

Throughput: N transactional texts are queued in bulk (textpilot/delivery/loadgen.py) on one sim
sender with 50 ms latency per provider call, rate limit 10,000/s and receipts far in the
future (so only the send path is measured); then one real `textpilot dispatch` child process
runs until nothing is queued or sending. The figure is messages ÷ (last − first hand-over,
from the sim carrier's own log); the wall time including process start is noted too. Baseline,
same run, same database, same number of fresh queued rows: the floor of the work — per batch
of 500, one 50 ms asyncio sleep (the provider call) then one hand-written `UPDATE … SET
status='sent' … WHERE id IN (…)`, sequentially, nothing else (no gate, no attempt rows, no
carrier log). Rate-limit accuracy: a sender limited to 200/s and one to 1,000/s (20 ms
latency), each with ~10 s of texts, sent by a fresh dispatcher; achieved rate = (texts − 1) ÷
(last − first hand-over in the carrier log). Every run also checks exactly-once: each message
ended `sent` and has exactly one carrier-log row.

Daily spend cap: after the throughput run, today's spend as the gate reads it once per batch
(the store's counter row, delivery/spend.py) is timed against the SUM over the day's
handed-over texts that the gate ran per batch before the counter existed (baseline, same run,
same rows), and the counter is checked against that sum; then the throughput run is repeated
with a daily spend cap set (far above what is spent). Shared rate: with `REDIS_URL`
(TEXTPILOT_BENCH_REDIS_URL, default redis://127.0.0.1:6379/14), two dispatcher processes
share a sender limited to 1,000/s (achieved rate of the pair), and one dispatcher's
throughput at 10,000/s is measured with its rate booked in Redis.

    .venv/bin/python bench/dispatch_bench.py [--quick]
"""
import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

REDIS_URL = os.environ.get("TEXTPILOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
NAME = "dispatch"
TITLE = "Dispatcher: messages/s of one worker against the sim carrier (50 ms calls) and rate-limit accuracy"
TARGET_RATE = 2_000
SIZES = {
    "quick": {"messages": 4_000, "rate_seconds": 4, "rates": (200, 1000)},
    "default": {"messages": 20_000, "rate_seconds": 10, "rates": (200, 1000)},
}

SETUP = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.delivery import loadgen, service
from textpilot.delivery.models import Sender
from textpilot.stores import service as stores
from textpilot.stores.models import Store
args = json.loads(sys.argv[1])
store = Store.objects.filter(slug="bench").first() or stores.create_store("Bench", slug="bench", timezone="America/New_York", country="US")
Sender.objects.update(active=False)  # only the sender of this run dispatches
sender = service.create_sender(store, name=args["name"], provider="sim", from_number=args["from_number"],
                               number_type="short_code", rate_per_second=args["rate"],
                               options={"latency_ms": args["latency_ms"], "dlr_delay_s": 86400})
sender.active = args.get("active", True)
sender.save(update_fields=["active"])
profiles = loadgen.synthetic_profiles(store, 1000, prefix=args["prefix"])
queued = loadgen.queue_messages(store, sender, profiles, args["messages"])
print(json.dumps({"sender_id": sender.pk, "queued": queued}))
"""

BASELINE = """
import asyncio, json, os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"  # one plain loop: the UPDATE runs inline, on purpose
django.setup()
from django.db import connection, transaction
from django.utils import timezone
from textpilot.delivery.models import Message
sender_id, latency = int(sys.argv[1]), float(sys.argv[2])
ids = list(Message.objects.filter(sender_id=sender_id, status="queued").order_by("id").values_list("id", flat=True))

async def main():
    for start in range(0, len(ids), 500):
        batch = ids[start:start + 500]
        await asyncio.sleep(latency)  # the provider call
        with transaction.atomic(), connection.cursor() as cursor:
            marks = ",".join(["%s"] * len(batch))
            cursor.execute(f"UPDATE delivery_message SET status = 'sent', sent_at = %s, lease_owner = '' WHERE id IN ({marks})",
                           [connection.ops.adapt_datetimefield_value(timezone.now()), *batch])

started = time.perf_counter()
asyncio.run(main())
print(json.dumps({"rows": len(ids), "seconds": time.perf_counter() - started}))
"""


SPEND_PROBE = """
import json, os, statistics, sys, time, django
from decimal import Decimal
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from django.db.models import Sum
from django.utils import timezone
from textpilot.delivery import gate, spend
from textpilot.delivery.claims import HANDED_OVER
from textpilot.delivery.models import Direction, Message
from textpilot.stores.models import Store
store, skip_sender = Store.objects.get(slug="bench"), int(sys.argv[1])
now = timezone.now()
day, since = spend.local_day(now, store.timezone), gate.local_day_start(now, store.timezone)

def counter():
    return spend.spent_on(store.pk, day)

def day_sum(**exclude):  # what the gate summed once per batch before the counter
    rows = Message.objects.filter(store=store, direction=Direction.OUTBOUND, status__in=HANDED_OVER, sent_at__gte=since)
    return rows.exclude(**exclude).aggregate(total=Sum("estimated_cost"))["total"] or 0

def median_ms(fn, times):
    fn()
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)

print(json.dumps({"counter_ms": median_ms(counter, 300), "sum_ms": median_ms(day_sum, 30),
                  "rows": Message.objects.filter(store=store, status__in=HANDED_OVER).count(),
                  # to the column's five places (SQLite sums in floating point)
                  "difference": float(counter() - Decimal(day_sum(sender_id=skip_sender)).quantize(Decimal("0.00001")))}))
"""

CAP = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.delivery import service
from textpilot.stores.models import Store
service.update_compliance_settings(Store.objects.get(slug="bench"), daily_spend_cap="1000000")
print("{}")
"""


class Probe:
    """Read-only questions to the benchmark database, straight from this process."""

    def __init__(self, url: str | None, data_dir: Path):
        if url:
            import psycopg

            self.conn, self.vendor = psycopg.connect(url, autocommit=True), "postgresql"
        else:
            self.conn, self.vendor = sqlite3.connect(data_dir / "textpilot.sqlite3", timeout=30), "sqlite"

    def one(self, sql: str, params=()):
        sql = sql.replace("?", "%s") if self.vendor == "postgresql" else sql
        return self.conn.execute(sql, params).fetchone()

    def pending(self, sender_id: int) -> int:
        return self.one("SELECT count(*) FROM delivery_message WHERE sender_id = ? AND status IN ('queued', 'sending')",
                        (sender_id,))[0]

    def summary(self, sender_id: int, from_number: str) -> dict:
        statuses = dict(self.conn.execute(
            "SELECT status, count(*) FROM delivery_message WHERE sender_id = {} GROUP BY status".format(int(sender_id))).fetchall())
        count, first, last = self.one("SELECT count(*), min(accepted_at), max(accepted_at) FROM delivery_simdelivery "
                                      "WHERE from_phone = ?", (from_number,))
        duplicates = self.one("SELECT count(*) FROM (SELECT client_ref FROM delivery_simdelivery WHERE from_phone = ? "
                              "GROUP BY client_ref HAVING count(*) > 1) d", (from_number,))[0]
        span = (_as_datetime(last) - _as_datetime(first)).total_seconds() if count else 0.0
        return {"statuses": statuses, "carrier_rows": count, "span": span, "duplicates": duplicates}

    def close(self):
        self.conn.close()


def _as_datetime(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def setup_sender(label, env, **args) -> dict:
    return harness.run_setup_script(label, env, SETUP.replace("sys.argv[1]", repr(json.dumps(args))))


def run_dispatcher(env: dict, probe: Probe, sender_id: int, expected: int, log_path: Path, timeout: float,
                   processes: int = 1) -> dict:
    """Start `processes` × `textpilot dispatch`, wait until the sender has nothing left, stop
    them (SIGTERM). CPU and peak RSS are those of the first process."""
    started = time.perf_counter()
    logs = [open(log_path.with_suffix(f".{i}.log") if i else log_path, "w") for i in range(processes)]
    procs = [subprocess.Popen(harness.textpilot("dispatch"), env=env, cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT)
             for log in logs]
    try:
        while probe.pending(sender_id):
            if any(proc.poll() is not None for proc in procs):
                raise RuntimeError(f"dispatcher exited early:\n{log_path.read_text()[-3000:]}")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"dispatcher did not finish {expected} messages in {timeout} s")
            time.sleep(0.1)
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        usages = [os.wait4(proc.pid, 0)[2] for proc in procs]
        for log in logs:
            log.close()
    return {"wall": wall, "cpu": usages[0].ru_utime + usages[0].ru_stime, "peak_rss_mb": usages[0].ru_maxrss / 1024}


def redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not there"
        return False


def measure(label: str, url: str | None, work: Path, sizes: dict) -> tuple[list, list]:
    data_dir = work / label
    data_dir.mkdir()
    env = harness.textpilot_env(url, data_dir, TEXTPILOT_DISPATCH_WORKERS="1")
    harness.migrate(label, env, data_dir / "migrate.log")
    probe = Probe(url, data_dir)
    metrics, notes = [], []
    try:
        n = sizes["messages"]
        load_before = harness.load_average()
        sender = setup_sender(label, env, name="Throughput", from_number="+14155550100", rate=10_000, latency_ms=50,
                              prefix="+1212555", messages=n)
        ran = run_dispatcher(env, probe, sender["sender_id"], n, data_dir / "dispatch.log", timeout=600)
        got = probe.summary(sender["sender_id"], "+14155550100")
        rate = got["carrier_rows"] / got["span"] if got["span"] else float("nan")
        base = setup_sender(label, env, name="Baseline", from_number="+14155550101", rate=10_000, latency_ms=50,
                            prefix="+1212556", messages=n, active=False)
        floor = json.loads(subprocess.run([sys.executable, "-c", BASELINE, str(base["sender_id"]), "0.05"], env=env,
                                          cwd=harness.ROOT, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        floor_rate = floor["rows"] / floor["seconds"]
        load_after = harness.load_average()
        metrics += [
            harness.metric("throughput, one dispatcher process (first to last hand-over)", rate, "messages/s",
                           f"≥ {TARGET_RATE:,} messages/s", floor_rate, "sleep 50 ms + one UPDATE per 500 rows"),
            harness.metric("throughput including process start and the final poll", n / ran["wall"], "messages/s"),
            harness.metric("CPU seconds of the dispatcher process", ran["cpu"], "s"),
            harness.metric("peak RSS of the dispatcher process", ran["peak_rss_mb"], "MB"),
            harness.metric("messages ended sent", got["statuses"].get("sent", 0), "", f"= {n}"),
            harness.metric("carrier-log rows (one per hand-over)", got["carrier_rows"], "", f"= {n}"),
            harness.metric("messages handed over twice", got["duplicates"], "", "0"),
        ]
        notes.append(f"{n:,} messages; load average (1 min) before/after the throughput run: {load_before[:1]} / "
                     f"{load_after[:1]} on {os.cpu_count()} shared cores")

        # The daily spend cap: the counter the gate reads per batch against the old per-batch SUM.
        read = json.loads(subprocess.run([sys.executable, "-c", SPEND_PROBE, str(base["sender_id"])], env=env,
                                         cwd=harness.ROOT, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        harness.run_setup_script(label, env, CAP)
        capped = setup_sender(label, env, name="Capped", from_number="+14155550102", rate=10_000, latency_ms=50,
                              prefix="+1212557", messages=n)
        capped_ran = run_dispatcher(env, probe, capped["sender_id"], n, data_dir / "capped.log", timeout=600)
        got = probe.summary(capped["sender_id"], "+14155550102")
        metrics += [
            harness.metric(f"today's spend as the gate reads it per batch ({read['rows']:,} texts handed over today)",
                           read["counter_ms"], "ms", "", read["sum_ms"], "the per-batch SUM of the day's texts it replaced"),
            harness.metric("spend counter − Σ cost of the texts dispatchers handed over", read["difference"], "", "= 0"),
            harness.metric("throughput with a daily spend cap set (first to last hand-over)",
                           got["carrier_rows"] / got["span"] if got["span"] else float("nan"), "messages/s",
                           f"≥ {TARGET_RATE:,} messages/s"),
            harness.metric("CPU seconds of the dispatcher process, spend cap set", capped_ran["cpu"], "s"),
            harness.metric("with a spend cap: messages handed over twice", got["duplicates"], "", "0"),
        ]
        for i, per_second in enumerate(sizes["rates"]):
            count = per_second * sizes["rate_seconds"]
            number = f"+1415555020{i}"
            limited = setup_sender(label, env, name=f"Rate {per_second}", from_number=number, rate=per_second,
                                   latency_ms=20, prefix=f"+131255{5 + i}", messages=count)
            run_dispatcher(env, probe, limited["sender_id"], count, data_dir / f"rate{per_second}.log", timeout=600)
            got = probe.summary(limited["sender_id"], number)
            achieved = (got["carrier_rows"] - 1) / got["span"] if got["span"] else float("nan")
            metrics += [
                harness.metric(f"rate limit {per_second}/s: achieved rate", achieved, "messages/s",
                               f"{per_second} ± 2 %"),
                harness.metric(f"rate limit {per_second}/s: error", 100 * (achieved - per_second) / per_second, "%", "within ± 2 %"),
                harness.metric(f"rate limit {per_second}/s: handed over twice", got["duplicates"], "", "0"),
            ]
        if redis_answers():
            metrics += measure_shared_rate(label, env, probe, data_dir, sizes, n)
        else:
            notes.append(f"Redis was not reachable at {REDIS_URL}; the shared rate limit was not measured.")
    finally:
        probe.close()
    return metrics, notes


def measure_shared_rate(label: str, env: dict, probe: Probe, data_dir: Path, sizes: dict, n: int) -> list:
    """Two dispatchers sharing one sender's 1,000/s through Redis; one dispatcher's throughput
    with its rate booked in Redis (a round trip per provider call)."""
    shared_env = {**env, "REDIS_URL": REDIS_URL}
    shared_env.pop("TEXTPILOT_DISPATCH_WORKERS", None)  # not needed with Redis (and ignored)
    per_second, number = 1000, "+14155550210"
    count = per_second * sizes["rate_seconds"]
    limited = setup_sender(label, env, name="Shared 1000", from_number=number, rate=per_second, latency_ms=20,
                           prefix="+1313558", messages=count)
    run_dispatcher(shared_env, probe, limited["sender_id"], count, data_dir / "shared.log", timeout=600, processes=2)
    got = probe.summary(limited["sender_id"], number)
    achieved = (got["carrier_rows"] - 1) / got["span"] if got["span"] else float("nan")
    fast = setup_sender(label, env, name="Redis throughput", from_number="+14155550103", rate=10_000, latency_ms=50,
                        prefix="+1212558", messages=n)
    ran = run_dispatcher(shared_env, probe, fast["sender_id"], n, data_dir / "redis-throughput.log", timeout=600)
    fast_got = probe.summary(fast["sender_id"], "+14155550103")
    return [
        harness.metric(f"rate limit {per_second}/s shared by two dispatchers through Redis: achieved rate", achieved,
                       "messages/s", f"{per_second} ± 2 %"),
        harness.metric(f"rate limit {per_second}/s shared through Redis: error", 100 * (achieved - per_second) / per_second,
                       "%", "within ± 2 %"),
        harness.metric("two dispatchers through Redis: handed over twice", got["duplicates"], "", "0"),
        harness.metric("throughput, one dispatcher, rate booked in Redis", fast_got["carrier_rows"] / fast_got["span"]
                       if fast_got["span"] else float("nan"), "messages/s", f"≥ {TARGET_RATE:,} messages/s"),
        harness.metric("CPU seconds of that dispatcher process", ran["cpu"], "s"),
    ]


def run(quick: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    machine = harness.machine_info()
    work = Path(tempfile.mkdtemp(prefix="tp-bench-dispatch-"))

    def measure_one(label, url):
        metrics, notes = measure(label, url, work, sizes)
        print(f"{label}: {metrics[0]['value']:,.0f} messages/s (floor {metrics[0]['baseline']:,.0f})", flush=True)
        return metrics, notes

    try:
        runs, notes = harness.for_each_database("tp_bench_dispatch", measure_one, "one `textpilot dispatch` process")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": NAME, "title": TITLE,
        "description": " ".join(" ".join(part.split()) for part in (__doc__ or "").strip().split("\n\n")[1:3]),
        "params": {**sizes, "latency_ms": 50, "batch_size": 500},
        "machine": machine, "seconds": time.perf_counter() - started, "runs": runs, "notes": notes,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-save", action="store_true", help="print, don't write bench/results/dispatch.json")
    options = parser.parse_args()
    outcome = run(quick=options.quick)
    if options.no_save:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        print(f"wrote {harness.save_result(outcome)}")
