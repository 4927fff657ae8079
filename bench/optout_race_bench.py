"""Opt-out race: does any marketing text reach the carrier after the recipient's STOP?

2,000 marketing texts are queued (textpilot/delivery/optout_race.py) on one sim sender limited
to 100 texts/s; one real `textpilot dispatch` process sends them while a second process texts
STOP from 300 recipients whose text has not gone yet, half of them from batches the dispatcher
already claimed and is pacing out. Everything is counted from the sim carrier's own log
against each STOP's recorded_at (taken just before its commit, so every lag is an upper bound).
Target: 0 texts handed over more than 250 ms after a STOP; none after the STOP's confirmation.
Baseline, same run: the texts the gate had already let through at claim time that the last look
before the provider call then held back — what a claim-time gate alone would have sent after
the STOP.

    .venv/bin/python bench/optout_race_bench.py [--quick]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

NAME = "optout_race"
TITLE = "Opt-out race: texts reaching the carrier after a STOP, under 100 texts/s with concurrent STOPs"
SIZES = {"quick": {"messages": 600, "stops": 80, "interval": 0.03}, "default": {"messages": 2_000, "stops": 300, "interval": 0.03}}
RACE = [sys.executable, "-m", "textpilot.delivery.optout_race"]


def measure(label: str, url: str | None, work: Path, sizes: dict) -> tuple[list, list]:
    from textpilot.delivery import optout_race

    data_dir = work / label
    data_dir.mkdir()
    env = harness.textpilot_env(url, data_dir, TEXTPILOT_DISPATCH_WORKERS="1")
    harness.migrate(label, env, data_dir / "migrate.log")
    subprocess.run([*RACE, "setup", "--messages", str(sizes["messages"]), "--rate", "100"], env=env, cwd=harness.ROOT,
                   check=True, capture_output=True)
    if url:
        import psycopg

        conn = psycopg.connect(url, autocommit=True)
    else:
        conn = sqlite3.connect(data_dir / "textpilot.sqlite3", timeout=30, isolation_level=None)
    load_before = harness.load_average()
    log = open(data_dir / "dispatch.log", "w")
    proc = subprocess.Popen(harness.textpilot("dispatch"), env=env, cwd=harness.ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        stopper = subprocess.run([*RACE, "stop", "--stops", str(sizes["stops"]), "--interval", str(sizes["interval"])],
                                 env=env, cwd=harness.ROOT, capture_output=True, text=True, timeout=600)
        if stopper.returncode:
            raise RuntimeError(stopper.stderr[-3000:])
        deadline = time.monotonic() + 600
        pending = "SELECT count(*) FROM delivery_message WHERE status IN ('queued', 'sending')"
        while conn.execute(pending).fetchone()[0]:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dispatcher stopped or hung:\n{(data_dir / 'dispatch.log').read_text()[-3000:]}")
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    report = optout_race.measure(conn)
    conn.close()
    stops = len(json.loads(stopper.stdout.strip().splitlines()[-1]))
    metrics = [
        harness.metric("STOPs texted during the run", stops, "", f"= {sizes['stops']}"),
        harness.metric("marketing texts handed over > 250 ms after their STOP", len(report["late_texts"]), "", "0",
                       report["held_at_last_look"], "held back at the last look"),
        harness.metric("worst lag of a text handed over after its STOP", report["worst_lag_after_stop_s"] * 1000, "ms", "≤ 250 ms"),
        harness.metric("marketing texts handed over after the STOP's confirmation", len(report["after_confirmation"]), "", "0"),
        harness.metric("STOP confirmation, STOP to carrier, p50", report["confirmation_lag_p50_s"] * 1000, "ms"),
        harness.metric("STOP confirmation, STOP to carrier, p95", report["confirmation_lag_p95_s"] * 1000, "ms"),
        harness.metric("STOP confirmation, STOP to carrier, max", report["confirmation_lag_max_s"] * 1000, "ms"),
        harness.metric("texts held at the last look before the provider call", report["held_at_last_look"], ""),
        harness.metric("texts suppressed at claim time", report["suppressed_at_claim"], ""),
        harness.metric("texts handed over twice", report["handed_over_twice"], "", "0"),
        harness.metric("recipients without a STOP whose text did not go", report["unstopped_not_sent"], "", "0"),
    ]
    notes = [f"{sizes['messages']:,} texts at 100/s, {stops} STOPs one every {sizes['interval'] * 1000:.0f} ms; load average "
             f"(1 min) before/after: {load_before[:1]} / {harness.load_average()[:1]} on {os.cpu_count()} shared cores"]
    return metrics, notes


def run(quick: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    machine = harness.machine_info()
    work = Path(tempfile.mkdtemp(prefix="tp-bench-optout-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")

    def measure_one(label, url):
        metrics, notes = measure(label, url, work, sizes)
        print(f"{label}: {metrics[1]['value']} late, worst lag {metrics[2]['value']:.0f} ms, "
              f"confirmation p95 {metrics[5]['value']:.0f} ms, held at last look {metrics[7]['value']}", flush=True)
        return metrics, notes

    try:
        runs, notes = harness.for_each_database("tp_bench_optout", measure_one, "one `textpilot dispatch` process")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": NAME, "title": TITLE,
        "description": " ".join((__doc__ or "").strip().split("\n\n")[1].split()),
        "params": sizes, "machine": machine, "seconds": time.perf_counter() - started, "runs": runs, "notes": notes,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-save", action="store_true", help="print, don't write bench/results/optout_race.json")
    options = parser.parse_args()
    outcome = run(quick=options.quick)
    if options.no_save:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        print(f"wrote {harness.save_result(outcome)}")
