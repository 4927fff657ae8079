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


def run_dispatcher(env: dict, probe: Probe, sender_id: int, expected: int, log_path: Path, timeout: float) -> dict:
    """Start `textpilot dispatch`, wait until the sender has nothing left, stop it (SIGTERM)."""
    started = time.perf_counter()
    log = open(log_path, "w")
    proc = subprocess.Popen(harness.textpilot("dispatch"), env=env, cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        while probe.pending(sender_id):
            if proc.poll() is not None:
                raise RuntimeError(f"dispatcher exited early:\n{log_path.read_text()[-3000:]}")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"dispatcher did not finish {expected} messages in {timeout} s")
            time.sleep(0.1)
        wall = time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(proc.pid, 0)
        log.close()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


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
    finally:
        probe.close()
    return metrics, notes


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
        "description": " ".join((__doc__ or "").strip().split("\n\n")[0:2][1].split()),
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
