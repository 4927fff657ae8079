"""Bulk enqueue: a campaign with a merge tag and a link queued for 1M recipients on PostgreSQL (100k on SQLite), against a raw COPY of the same rows and send_message, in the same run.

Per database: a fresh database, `textpilot migrate`, `textpilot seed_demo` (profiles only:
demo names in several scripts, numbers of 12 countries), then three child processes, each
measured on its own (wall time, CPU of the process, CPU of its PostgreSQL backend, its own
peak RSS): (1) `delivery.service.send_message` for a few thousand subscribed profiles, one
text per call as the API sends them, with the statements each costs; (2)
`delivery.bulk_enqueue.enqueue` of one marketing text ("{{ store.brand }}: Hi {{ first_name
| default: 'there' }}! … <link> Reply STOP to opt out") to the first N subscribed profiles in
chunks of 5,000, each chunk committed with its cursor; the rows are checked afterwards (one
message and one short link per recipient, segments and prices from the real rules); (3) the
baseline: the very rows (2) wrote (messages and short links, the same columns) read back and
written again with a raw COPY (psycopg write_row; SQLite: a bare executemany) into copies of
the two tables without indexes (the strictest reading of the target), (PostgreSQL) copies with
the same indexes and unique keys but no foreign keys, and the real tables themselves (under
new ids and keys). Wall times move with whatever else runs on the box; the CPU seconds
(process + PostgreSQL backend) of each path are compared too.

    python bench/bulk_enqueue_bench.py [--quick]
"""
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

NAME = "bulk_enqueue"
TITLE = "Bulk enqueue: 1M texts with a merge tag and a link, against COPY of the same rows"
SIZES = {
    "quick": {"postgresql": 50_000, "sqlite": 20_000, "single": 300},
    "default": {"postgresql": 1_000_000, "sqlite": 100_000, "single": 2_000},
}
CHUNK = 5_000
SUBSCRIBED_SHARE = 0.72  # of seed_demo profiles (74 % measured): seed enough for N subscribed
BODY = ("{{ store.brand }}: Hi {{ first_name | default: 'there' }}! Spring sale: 20% off everything with code SPRING20 "
        "https://demo-outdoor.example/collections/spring-sale?utm_source=sms&utm_campaign=spring Reply STOP to opt out")
KEY_PREFIX = "campaign:1"


# -- the child processes ---------------------------------------------------------------------

def _child(mode: str, count: int, out: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
    import django

    django.setup()
    result = {"single": _single, "bulk": _bulk, "copy": _copy}[mode](count)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out).write_text(json.dumps(result, default=str))


class _Measured:
    """Wall, process CPU and PostgreSQL backend CPU of a block."""

    def __enter__(self):
        from django.db import connection

        self.connection = connection
        self.wall, self.cpu, self.backend = time.perf_counter(), time.process_time(), _backend_cpu(connection)
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        backend = _backend_cpu(self.connection)
        self.backend = None if backend is None or self.backend is None else backend - self.backend

    def figures(self) -> dict:
        return {"seconds": self.wall, "cpu_seconds": self.cpu, "backend_cpu_seconds": self.backend}


def _backend_cpu(connection):
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _store():
    from textpilot.stores.models import Store

    return Store.objects.get(slug="bench")


def _subscribed(store):
    from textpilot.profiles.models import Profile

    return Profile.objects.filter(store=store, sms_status="subscribed", phone__isnull=False)


def _single(count: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from textpilot.delivery import service

    store = _store()
    recipients = list(_subscribed(store).order_by("-pk")[:count])  # the last ones: not in the bulk run's audience

    def send(profile):
        service.send_message(store, profile=profile, body=BODY, kind="marketing", origin="campaign", origin_id=2,
                             origin_key=f"campaign:2:{profile.pk}")

    sample = 50  # statements counted on a sample: logging them would slow the timed loop
    with CaptureQueriesContext(connection) as queries:
        for profile in recipients[:sample]:
            send(profile)
    with _Measured() as measured:
        for profile in recipients[sample:]:
            send(profile)
    return {"texts": len(recipients) - sample, "statements_per_text": len(queries) / sample, **measured.figures()}


def _bulk(count: int) -> dict:
    from django.db.models import Count, Max, Min, Sum

    from textpilot.delivery import bulk_enqueue
    from textpilot.delivery.models import Message
    from textpilot.messaging.models import ShortLink
    from textpilot.common.phone_regions import shape_of

    store = _store()
    audience = _subscribed(store)
    last = audience.order_by("pk").values_list("pk", flat=True)[count - 1]
    audience = audience.filter(pk__lte=last)
    with _Measured() as measured:
        totals = bulk_enqueue.enqueue(store, bulk_enqueue.BulkSend(body=BODY, key_prefix=KEY_PREFIX, origin_id=1),
                                      audience, chunk_size=CHUNK)
    messages = Message.objects.filter(store=store, origin="campaign", origin_id=1)
    check = messages.aggregate(n=Count("id"), keys=Count("origin_key", distinct=True), profiles=Count("profile_id", distinct=True),
                               total_segments=Sum("segments"), cost=Sum("estimated_cost"), min_segments=Min("segments"),
                               max_segments=Max("segments"))
    encodings = dict(messages.values_list("encoding").annotate(n=Count("id")).values_list("encoding", "n"))
    links = ShortLink.objects.filter(store=store, message__origin_id=1).aggregate(n=Count("id"), messages=Count("message_id", distinct=True))
    shapes = len({shape_of(phone) for phone in audience.values_list("phone", flat=True).iterator(chunk_size=20_000)})
    return {"queued": totals.queued, "failed": totals.failed, "existing": totals.existing, "chunks": totals.chunks,
            "messages": check, "encodings": encodings, "links": links, "number_shapes": shapes, **measured.figures()}


def _copy(count: int) -> dict:
    """The rows the bulk run wrote, read back and written again with a raw COPY / executemany."""
    from django.db import connection, transaction
    from django.utils import timezone

    from textpilot.delivery import composer, queueing
    from textpilot.delivery.models import Message
    from textpilot.messaging.models import ShortLink

    store = _store()
    texts = composer.Composer(store, composer.check_request(body=BODY, kind="marketing", origin="campaign"), composer.default_sender(store))
    message_columns = list(queueing.VARYING) + list(queueing.shared_values(texts, timezone.now(), None))
    link_columns = ["id", "message_id", "profile_id", "target_url", "code", "store_id", "origin", "label", "created_at", "click_count"]
    quote = connection.ops.quote_name
    tables = {"message": (Message, message_columns), "link": (ShortLink, link_columns)}
    variants = ["plain", "indexed", "real"] if connection.vendor == "postgresql" else ["plain", "real"]
    spent = {(table, variant): [0.0, 0.0, 0.0] for table in tables for variant in variants}  # wall, cpu, backend cpu
    rows = {}
    with connection.cursor() as cursor:
        for table, (model, columns) in tables.items():
            for variant in variants:
                if variant == "real":
                    continue
                like = "INCLUDING DEFAULTS" if variant == "plain" else "INCLUDING ALL"
                if connection.vendor == "postgresql":
                    cursor.execute(f"CREATE TABLE bench_{table}_{variant} (LIKE {quote(model._meta.db_table)} {like})")
                else:
                    cursor.execute(f"CREATE TABLE bench_{table}_{variant} AS SELECT * FROM {quote(model._meta.db_table)} WHERE 0")
    offset = 10 ** 12  # "real": the same rows into the real tables, under new ids, keys and codes
    for table, (model, columns) in tables.items():
        names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
        where = "origin_id = 1 AND origin = 'campaign'" if table == "message" else \
            f"message_id IN (SELECT id FROM {quote(Message._meta.db_table)} WHERE origin_id = 1 AND origin = 'campaign')"
        renamed = columns.index("origin_key" if table == "message" else "code")
        after, rows[table] = 0, 0
        while True:  # keyset pages of the rows: reading them is not timed, writing them is
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id, {names} FROM {quote(model._meta.db_table)} WHERE {where} AND id > %s ORDER BY id LIMIT 50000",
                               [after])
                page = cursor.fetchall()
            if not page:
                break
            after, batch = page[-1][0], [row[1:] for row in page]
            rows[table] += len(batch)
            for variant in variants:
                target, written = quote(model._meta.db_table) if variant == "real" else f"bench_{table}_{variant}", batch
                if variant == "real":
                    written = [(row[0] + offset, *row[1:renamed], row[renamed] + "c", *row[renamed + 1:]) for row in batch]
                with _Measured() as measured:
                    with transaction.atomic(), connection.cursor() as cursor:
                        if connection.vendor == "postgresql":
                            if variant == "real":  # foreign keys checked now, not at a commit that never comes
                                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                            with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                                for row in written:
                                    copy.write_row(row)
                        else:
                            cursor.executemany(f"INSERT INTO {target} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", written)
                        if variant == "real" and connection.vendor == "postgresql":
                            transaction.set_rollback(True)  # the real tables keep only the bulk run's rows
                for i, value in enumerate((measured.wall, measured.cpu, measured.backend or 0.0)):
                    spent[(table, variant)][i] += value
                if variant == "real" and connection.vendor != "postgresql":  # committed (keys checked): remove, untimed
                    with connection.cursor() as cursor:
                        cursor.execute(f"DELETE FROM {target} WHERE id >= %s", [offset])
    shape = {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table, (model, _) in tables.items():
                cursor.execute("SELECT (SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass), "
                               "(SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f')",
                               [model._meta.db_table, model._meta.db_table])
                shape[table] = cursor.fetchone()
    return {"rows": rows, "columns": {"message": len(message_columns), "link": len(link_columns)}, "shape": shape,
            "seconds": {f"{table}_{variant}": value[0] for (table, variant), value in spent.items()},
            "cpu_seconds": {f"{table}_{variant}": value[1] for (table, variant), value in spent.items()},
            "backend_cpu_seconds": {f"{table}_{variant}": value[2] for (table, variant), value in spent.items()}}


# -- the benchmark -------------------------------------------------------------------------------

def _run_child(label: str, mode: str, count: int, env: dict, work: Path) -> dict:
    out = work / f"{label}-{mode}.json"
    run = harness.run_child_with_rusage([sys.executable, str(Path(__file__).resolve()), "child", mode, str(count), str(out)],
                                        env=env, timeout=3600, log_path=work / f"{label}-{mode}.log")
    if run["returncode"]:
        raise RuntimeError(f"{mode} failed on {label}:\n{run['output'][-3000:]}")
    return {**json.loads(out.read_text()), "child_peak_rss_mb": run["peak_rss_mb"]}


def measure(label: str, url: str | None, sizes: dict, work: Path) -> tuple[list, list]:
    count = sizes["postgresql" if url else "sqlite"]
    data_dir = work / label
    data_dir.mkdir()
    env = harness.textpilot_env(url, data_dir)
    harness.migrate(label, env, work / f"{label}-migrate.log")
    profiles = int((count + sizes["single"]) / SUBSCRIBED_SHARE) + 1_000
    seeded = harness.run_child_with_rusage(
        harness.textpilot("seed_demo", "--store", "bench", "--profiles", str(profiles), "--orders", "0", "--events", "0", "--seed", "42"),
        env=env, timeout=3600, log_path=work / f"{label}-seed.log")
    if seeded["returncode"]:
        raise RuntimeError(f"seed_demo failed on {label}:\n{seeded['output'][-3000:]}")
    single = _run_child(label, "single", sizes["single"], env, work)
    bulk = _run_child(label, "bulk", count, env, work)
    copy = _run_child(label, "copy", count, env, work)

    per_text_ms = single["seconds"] / single["texts"] * 1000
    single_rate = single["texts"] / single["seconds"]
    rate = bulk["queued"] / bulk["seconds"]
    pg = url is not None

    def both(figures, variant):
        return figures[f"message_{variant}"] + figures[f"link_{variant}"]

    plain, real = both(copy["seconds"], "plain"), both(copy["seconds"], "real")
    bulk_cpu = bulk["cpu_seconds"] + (bulk.get("backend_cpu_seconds") or 0)
    ok = (bulk["queued"] == count and bulk["messages"]["n"] == count and bulk["messages"]["keys"] == count
          and bulk["messages"]["profiles"] == count and bulk["links"]["n"] == count and bulk["links"]["messages"] == count)
    raw = "raw COPY" if pg else "bare executemany"
    metrics = [
        harness.metric("send_message: time per text (one call per text, autocommit)", per_text_ms, "ms"),
        harness.metric("send_message: texts/s", single_rate, "texts/s"),
        harness.metric("send_message: SQL statements per text", single["statements_per_text"], "statements"),
        harness.metric("send_message: CPU per text (process + PostgreSQL backend)" if pg else "send_message: CPU per text",
                       (single["cpu_seconds"] + (single.get("backend_cpu_seconds") or 0)) / single["texts"] * 1000, "ms"),
        harness.metric(f"bulk enqueue: {count:,} texts queued (wall)", bulk["seconds"], "s", "≤ 30 s" if pg else "",
                       plain, f"{raw} of the same rows into index-free copies of the tables"),
        harness.metric(f"bulk enqueue ÷ {raw} into index-free copies (wall)", bulk["seconds"] / plain, "×", "≤ 3×" if pg else ""),
        harness.metric(f"{raw} of the same rows into the real tables (all indexes, keys checked; wall)", real, "s"),
        harness.metric(f"bulk enqueue ÷ {raw} into the real tables (wall)", bulk["seconds"] / real, "×", "≤ 3×" if pg else ""),
        harness.metric("bulk enqueue: texts/s", rate, "texts/s", "", single_rate, "send_message"),
        harness.metric("bulk enqueue: peak RSS of the enqueuing process", bulk["peak_rss_mb"], "MB", "< 500 MB"),
        harness.metric("bulk enqueue: CPU of the enqueuing process", bulk["cpu_seconds"], "s"),
    ]
    if pg:
        indexed = both(copy["seconds"], "indexed")
        copy_cpu = {variant: both(copy["cpu_seconds"], variant) + both(copy["backend_cpu_seconds"], variant)
                    for variant in ("plain", "indexed", "real")}
        metrics += [
            harness.metric("bulk enqueue: CPU of its PostgreSQL backend", bulk["backend_cpu_seconds"], "s"),
            harness.metric("raw COPY into copies with the same indexes and unique keys, no foreign keys (wall)", indexed, "s"),
            harness.metric("bulk enqueue ÷ raw COPY with the same indexes (wall)", bulk["seconds"] / indexed, "×"),
            harness.metric("CPU (process + backend): bulk enqueue", bulk_cpu, "s", "", copy_cpu["real"], "raw COPY into the real tables"),
            harness.metric("CPU ratio: bulk enqueue ÷ raw COPY into index-free copies", bulk_cpu / copy_cpu["plain"], "×"),
            harness.metric("CPU ratio: bulk enqueue ÷ raw COPY with the same indexes, no foreign keys", bulk_cpu / copy_cpu["indexed"], "×"),
            harness.metric("CPU ratio: bulk enqueue ÷ raw COPY into the real tables", bulk_cpu / copy_cpu["real"], "×"),
        ]
    metrics += [
        harness.metric(f"{raw} of the same message rows, index-free copy (wall)", copy["seconds"]["message_plain"], "s"),
        harness.metric(f"{raw} of the same short-link rows, index-free copy (wall)", copy["seconds"]["link_plain"], "s"),
        harness.metric("rows checked: one message + one short link per recipient, keys distinct", "yes" if ok else "NO", ""),
        harness.metric("messages: segments total", bulk["messages"]["total_segments"], "segments"),
        harness.metric("messages: estimated cost total", float(bulk["messages"]["cost"] or 0), "USD"),
    ]
    notes = []
    if pg:
        verdict = [("≤ 30 s", bulk["seconds"] <= 30, f"{bulk['seconds']:.0f} s"),
                   ("≤ 3× a raw COPY of the same rows into index-free tables", bulk["seconds"] <= 3 * plain,
                    f"{bulk['seconds'] / plain:.1f}×"),
                   ("≤ 3× a raw COPY of the same rows into the real tables", bulk["seconds"] <= 3 * real, f"{bulk['seconds'] / real:.2f}×"),
                   ("peak RSS < 500 MB", bulk["peak_rss_mb"] < 500, f"{bulk['peak_rss_mb']:.0f} MB")]
        notes.append("Targets: " + "; ".join(f"{what}: {'met' if met else 'MISSED'} ({value})" for what, met, value in verdict) + ".")
        per_text = lambda seconds: seconds / count * 1e6  # noqa: E731
        notes.append(
            f"Where the time goes (CPU, µs per text): bulk enqueue {per_text(bulk['cpu_seconds']):.0f} in the enqueuing process "
            f"(render, count, price, shorten, COPY rows; overlapped with the database by composing the next chunk in a thread) and "
            f"{per_text(bulk['backend_cpu_seconds']):.0f} in its PostgreSQL backend; a raw COPY of the same rows costs "
            f"{per_text(copy_cpu['plain']):.0f} into index-free tables, {per_text(copy_cpu['indexed']):.0f} with the same indexes and "
            f"{per_text(copy_cpu['real']):.0f} into the real tables ({copy['shape']['message'][0]} indexes and "
            f"{copy['shape']['message'][1]} foreign keys on messages, {copy['shape']['link'][0]} and {copy['shape']['link'][1]} on short "
            "links): the tables' indexes and keys, not the enqueue code, set the floor, and one connection's backend is one core.")
    notes += [
        f"{profiles:,} demo profiles seeded in {seeded['seconds']:.0f} s (not measured); the audience is the first {count:,} "
        f"subscribed ones by id, in chunks of {CHUNK:,} (each committed with its cursor).",
        f"encodings of the queued texts: {bulk['encodings']}; segments per text {bulk['messages']['min_segments']}–"
        f"{bulk['messages']['max_segments']}; {bulk['number_shapes']} distinct number shapes (phone_region's cache key) among "
        "the recipients: seed_demo draws numbers from few blocks, real lists have more (each new shape costs one phonenumbers parse, ~35 µs).",
        f"send_message measured on {single['texts']:,} other subscribed profiles, one call each (as the API does), "
        f"{single['statements_per_text']:.1f} statements per text (counted on 50 more).",
        f"baseline columns: {copy['columns']['message']} of the message table, {copy['columns']['link']} of the short-link table "
        "(the columns bulk enqueue writes); rows read back in pages of 50,000 (not timed) and written in one transaction per page. "
        "Into the real tables: new ids, keys and codes (prepared untimed), "
        + ("foreign keys checked at once (SET CONSTRAINTS ALL IMMEDIATE) and each page rolled back, so the tables hold the bulk run's "
           "1M rows throughout (the bulk run wrote into tables growing from empty)." if pg else "each page committed, then deleted untimed."),
    ]
    return metrics, notes


def run(quick: bool = False, full: bool = False, **_) -> dict:
    sizes = SIZES["quick" if quick else "default"]
    started = time.perf_counter()
    machine = harness.machine_info()
    work = Path(tempfile.mkdtemp(prefix="tp-bench-bulk-"))
    try:
        runs, notes = harness.for_each_database("tp_bench_bulk", lambda label, url: measure(label, url, sizes, work),
                                                "bulk enqueue vs raw copy vs send_message")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for run_ in runs:
        count = sizes[run_["database"]["vendor"]]
        run_["label"] = run_["label"].replace("bulk enqueue", f"{count:,} recipients: bulk enqueue", 1)
    return {
        "name": NAME, "title": TITLE,
        "description": (__doc__ or "").strip().split("\n\n")[1].replace("\n", " "),
        "params": {**sizes, "chunk": CHUNK, "quick": quick},
        "machine": machine, "seconds": time.perf_counter() - started, "loadavg_after": harness.load_average(),
        "runs": runs, "notes": notes,
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        _child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        sys.exit(0)
    sys.exit(harness.run_standalone(run, __doc__))
