"""CSV import of customers: a 1M-row file through the real upload + worker task, on SQLite and PostgreSQL.

A generated customers CSV (phones of 10 countries made by varying the last digits of
phonenumbers' example mobile number, in E.164, spaced and US national formats; emails,
names, tags, consent yes/no/blank with dates, two custom columns; ~1% bad phones, bad emails
and duplicate rows) is uploaded with `imports.service.create_import` and imported by the
`imports.run_csv_import` task (Huey in immediate mode, so the real task code runs in the
measured process, with the GC setting `textpilot worker` applies at start). Each database
run is a child process: its wall time and its own peak RSS are measured. The baseline,
measured in the same run, is the bare cost of checking the same phones with
`common.phones.normalize_phone` (the known hot spot), so the import's rows/s
can be read against it. Counts are checked against what the generator knows it wrote.

    python bench/csv_import_bench.py [--rows N] [--quick]
"""
import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

NAME = "csv_import"
TITLE = "CSV import: 1M customers through the worker"
ROWS = {"quick": 50_000, "default": 1_000_000}
REGIONS = ("US", "CA", "GB", "DE", "FR", "BR", "IN", "AU", "MX", "JP")
HEADER = ["Phone Number", "E-mail", "First Name", "Last Name", "Tags", "SMS Consent", "Consent Date", "City", "Favourite Colour"]
FIRST = ("Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Inés", "Jonas")
LAST = ("Lee", "Smith", "Müller", "Dubois", "Silva", "Patel", "Brown", "Tanaka", "García", "Novak")
CITIES = ("Boston", "Toronto", "Leeds", "Köln", "Lyon", "Recife", "Pune", "Perth", "Puebla", "Osaka")
COLOURS = ("green", "blue", "red", "", "black")


def _example_bases() -> list[str]:
    import phonenumbers
    from phonenumbers import PhoneNumberType

    return [
        phonenumbers.format_number(phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE),
                                   phonenumbers.PhoneNumberFormat.E164)[:-5]
        for region in REGIONS
    ]


def generate(path: Path, rows: int) -> dict:
    """Write the file; return what the import must report (the generator knows every bad row)."""
    bases = _example_bases()
    seen_phones, seen_emails = {}, set()
    imported = rejected = subscribed = 0
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for i in range(rows):
            region, serial = i % len(REGIONS), i // len(REGIONS)
            key = (region, serial)
            if i % 500 == 13 and i >= 10:  # duplicate: the phone of the row 10 lines up, another email
                key = ((i - 10) % len(REGIONS), (i - 10) // len(REGIONS))
            e164 = bases[key[0]] + f"{key[1]:05d}"
            if i % 200 == 7:
                phone, phone_ok = f"555-{i % 1000:03d}", False
            elif REGIONS[key[0]] == "US" and i % 3 == 0:
                phone, phone_ok = f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}", True
            elif i % 2:
                phone, phone_ok = f"{e164[:3]} {e164[3:7]} {e164[7:]}", True
            else:
                phone, phone_ok = e164, True
            email = f"customer{i}@example.com" if i % 300 != 11 else f"customer{i}.example.com"
            email_ok = "@" in email
            consent = "yes" if i % 10 < 4 else "no" if i % 10 < 7 else ""
            date = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" if consent == "yes" and i % 4 else ""
            writer.writerow([phone, email, FIRST[i % 10], LAST[(i // 10) % 10], "vip, summer" if i % 7 == 0 else "",
                             consent, date, CITIES[i % 10], COLOURS[i % 5]])
            duplicate = phone_ok and email_ok and (key in seen_phones or email in seen_emails)
            if phone_ok and email_ok and not duplicate:
                imported += 1
                subscribed += consent == "yes"
                seen_phones[key] = i
                seen_emails.add(email)
            else:
                rejected += 1
    return {"rows": rows, "imported": imported, "rejected": rejected, "subscribed": subscribed,
            "size_mb": path.stat().st_size / 1024 / 1024}


CHILD = r'''
import json, os, resource, sys, time
import django
django.setup()
from huey.contrib.djhuey import HUEY
HUEY.immediate = True  # the worker task runs inline, in this (measured) process
from textpilot.web.management.commands.worker import raise_gc_threshold
raise_gc_threshold()  # as `textpilot worker` does at start, since this process plays the worker
from textpilot.integrations.imports import runner, service
from textpilot.integrations.imports.models import ImportJob
from textpilot.profiles.models import ConsentEvent, Profile
from textpilot.stores import service as stores

csv_path, out_path = sys.argv[1], sys.argv[2]
store = stores.create_store("Bench Outdoors", slug="bench", timezone="America/New_York", country="US")
started = time.perf_counter()
with open(csv_path, "rb") as upload:
    job = service.create_import(store, upload, "customers.csv")
uploaded = time.perf_counter()
service.start_import(store, job.pk, job.mapping)  # the task runs on commit
finished = time.perf_counter()
me, helpers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
job = ImportJob.objects.get(pk=job.pk)
json.dump({
    "upload_seconds": uploaded - started, "import_seconds": finished - uploaded, "status": job.status, "error": job.error,
    "total_rows": job.total_rows, "imported": job.imported_rows, "updated": job.updated_rows, "rejected": job.rejected_rows,
    "profiles": Profile.objects.filter(store=store).count(),
    "subscribed": Profile.objects.filter(store=store, sms_status="subscribed").count(),
    "consent_events": ConsentEvent.objects.filter(store=store).count(),
    "mapping": job.mapping, "helpers": runner.IMPORT_HELPERS,
    "cpu_seconds": me.ru_utime + me.ru_stime, "helper_cpu_seconds": helpers.ru_utime + helpers.ru_stime,
}, open(out_path, "w"))
'''

BASELINE = r'''
import csv, json, sys, time
from textpilot.common.phones import normalize_phone
from textpilot.common.errors import FieldError
phones = [row[0] for row in csv.reader(open(sys.argv[1], encoding="utf-8"))][1:]
started = time.perf_counter()
for phone in phones:
    try:
        normalize_phone(phone, "US")
    except FieldError:
        pass
json.dump({"seconds": time.perf_counter() - started, "count": len(phones)}, open(sys.argv[2], "w"))
'''


def run_child(code: str, args: list[str], env: dict, log: Path) -> dict:
    run = harness.run_child_with_rusage([sys.executable, "-c", code, *args], env={**env, "DJANGO_SETTINGS_MODULE": "textpilot.settings"},
                                        timeout=3600, log_path=log)
    if run["returncode"]:
        raise RuntimeError(f"child failed:\n{run['output'][-3000:]}")
    return run


def import_once(label: str, database_url: str | None, work: Path, csv_path: Path, expected: dict) -> dict:
    data_dir = work / label
    data_dir.mkdir()
    env = harness.textpilot_env(database_url, data_dir)
    harness.migrate(label, env, work / f"{label}-migrate.log")
    out = work / f"{label}.json"
    load_before = os.getloadavg()[0]
    run = run_child(CHILD, [str(csv_path), str(out)], env, work / f"{label}.log")
    report = json.loads(out.read_text())
    checks = {
        "status": (report["status"], "completed"), "imported": (report["imported"], expected["imported"]),
        "rejected": (report["rejected"], expected["rejected"]), "profiles": (report["profiles"], expected["imported"]),
        "subscribed": (report["subscribed"], expected["subscribed"]), "consent events": (report["consent_events"], expected["subscribed"]),
    }
    wrong = {name: pair for name, pair in checks.items() if pair[0] != pair[1]}
    if wrong:
        raise RuntimeError(f"{label}: import result differs from the generated file (got, expected): {wrong}; {report['error']}")
    return {"wall_seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"], "load": (load_before, os.getloadavg()[0]), **report}


def metrics_for(result: dict, baseline: dict, rows: int) -> list[dict]:
    per_row_baseline = baseline["seconds"] / baseline["count"]
    full = rows >= ROWS["default"]
    return [
        harness.metric("wall time of the importing process (start, upload checks, import, exit)", result["wall_seconds"], "s",
                       "< 120 s" if full else ""),
        harness.metric("upload: store, UTF-8 check, sniff, count rows", result["upload_seconds"], "s"),
        harness.metric("import task (validate + write, chunks of 2,000)", result["import_seconds"], "s", "",
                       baseline["seconds"] * rows / baseline["count"], "normalize_phone alone on the same phones"),
        harness.metric("import throughput", rows / result["import_seconds"], "rows/s", "", 1 / per_row_baseline,
                       "normalize_phone alone"),
        harness.metric("CPU time of the importing process (user + sys)", result["cpu_seconds"], "s"),
        harness.metric("CPU time of its row-checking helper process(es)", result["helper_cpu_seconds"], "s"),
        harness.metric("peak RSS of the importing process (or its largest helper)", result["peak_rss_mb"], "MB", "< 500 MB"),
        harness.metric("profiles created", result["imported"], "rows"),
        harness.metric("rows rejected (bad phone/email, duplicates)", result["rejected"], "rows"),
        harness.metric("consent events written", result["consent_events"], "rows"),
    ]


def run(quick: bool = False, rows: int | None = None, **_) -> dict:
    rows = rows or ROWS["quick" if quick else "default"]
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="tp-bench-csv-"))
    runs, notes = [], []
    try:
        csv_path = work / "customers.csv"
        expected = generate(csv_path, rows)
        base_out = work / "baseline.json"
        run_child(BASELINE, [str(csv_path), str(base_out)], harness.textpilot_env(None, work / "baseline"), work / "baseline.log")
        baseline = json.loads(base_out.read_text())
        targets = [("sqlite", None, {"vendor": "sqlite", "version": harness.sqlite_version()})]
        if harness.pg_available():
            db = f"tp_bench_csv_{os.getpid()}"
            targets.append(("postgresql", db, None))
        else:
            notes.append("PostgreSQL was not reachable (TEXTPILOT_BENCH_PG_URL); only SQLite was measured.")
        for label, pg_db, database in targets:
            url = harness.create_pg_database(pg_db) if pg_db else None
            try:
                result = import_once(label, url, work, csv_path, expected)
                database = database or {"vendor": "postgresql", "version": harness.postgres_version(url)}
            finally:
                if pg_db:
                    harness.drop_pg_database(pg_db)
            runs.append({
                "label": f"{'SQLite' if label == 'sqlite' else 'PostgreSQL'}, {rows:,} rows ({expected['size_mb']:.0f} MB)",
                "database": database,
                "metrics": metrics_for(result, baseline, rows),
                "notes": [f"machine load average (1 min) before/after this run: {result['load'][0]:.1f} / {result['load'][1]:.1f} "
                          f"on {os.cpu_count()} cores (other work shares the machine); helper processes: {result['helpers']}",
                          f"counts checked against the generator: {expected['imported']:,} imported, {expected['rejected']:,} rejected, "
                          f"{expected['subscribed']:,} subscribed with evidence"],
            })
            print(f"{label}: {result['wall_seconds']:.1f} s wall, import {result['import_seconds']:.1f} s, "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "name": NAME,
        "title": TITLE,
        "description": (__doc__ or "").strip().split("\n\n")[1].replace("\n", " "),
        "params": {"rows": rows, "chunk_rows": 2000, "regions": ",".join(REGIONS)},
        "machine": harness.machine_info(),
        "seconds": time.perf_counter() - started,
        "runs": runs,
        "notes": notes,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, help="rows in the generated file (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"{ROWS['quick']:,} rows")
    parser.add_argument("--no-save", action="store_true", help="print, don't write bench/results/csv_import.json")
    options = parser.parse_args()
    outcome = run(quick=options.quick, rows=options.rows)
    if options.no_save:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        print(f"wrote {harness.save_result(outcome)}")
        harness.regenerate_results_md()
