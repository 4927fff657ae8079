"""Exactly once, with real `textpilot dispatch` processes on a database of their own (a
SQLite file in tmp_path on the SQLite run, a fresh PostgreSQL database on the PostgreSQL run):

- a dispatcher dies abruptly mid-batch — after the provider accepted a batch and before its
  results are recorded, the window that matters, made certain by the test-only exit hook
  (delivery/crash_hook.py: os._exit, as abrupt as kill -9) — then
  another one starts: the orphans the provider has are recovered by lookup (marked sent with
  the provider's id, not sent again), the rest are sent, and the sim carrier's log (never
  deduplicated) has exactly one row per text;
- the same with a provider that can't be asked (no lookup): the orphans stay `unknown`, none
  is sent again, and each is settled by its receipt when the carrier sends one;
- two dispatchers in parallel over 10,000 texts: each text once.

The lease is 5 s here (TEXTPILOT_DISPATCH_LEASE_SECONDS) so the dead worker's texts are
recovered quickly."""
import re
import sys

import pytest
from realprocess import Database, prepare, start_dispatcher, stop, template, wait_until  # noqa: F401 (template is a fixture)

from textpilot.delivery import crash_hook
from textpilot.delivery.crash_hook import EXIT_CODE as TEST_EXIT_CODE

MESSAGES = 10_000
LEASE = {"TEXTPILOT_DISPATCH_LEASE_SECONDS": "5"}

SETUP = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.delivery import loadgen, service
from textpilot.stores import service as stores
store = stores.create_store("Exactly Once", slug="exactly-once", timezone="America/New_York", country="US")
sender = service.create_sender(store, name="Sim", provider="sim", from_number="+14155550100", number_type="short_code",
                               rate_per_second=5000, options={"latency_ms": 3, "dlr_delay_s": 3600,
                                                              "answers_lookups": sys.argv[2] == "lookup"})
profiles = loadgen.synthetic_profiles(store, 500)
print(loadgen.queue_messages(store, sender, profiles, int(sys.argv[1])))
"""


def make_database(template, tmp_path, messages: int, lookup: bool = True) -> Database:
    db, printed = prepare(template, tmp_path, [sys.executable, "-c", SETUP, str(messages), "lookup" if lookup else "none"])
    assert printed.split()[-1] == str(messages)
    return db


@pytest.fixture
def database(template, tmp_path):
    db = make_database(template, tmp_path, MESSAGES)
    yield db
    db.drop()


def assert_each_sent_exactly_once(db: Database, messages: int = MESSAGES) -> None:
    statuses = dict(db.conn.execute("SELECT status, count(*) FROM delivery_message GROUP BY status").fetchall())
    assert set(statuses) <= {"sent", "delivered"} and sum(statuses.values()) == messages, statuses
    assert db.handed_over() == messages
    assert db.value("SELECT count(DISTINCT client_ref) FROM delivery_simdelivery") == messages
    # Every carrier row is one of our messages and names the provider id we recorded.
    assert db.value("SELECT count(*) FROM delivery_simdelivery s JOIN delivery_message m "
                    "ON s.client_ref = CAST(m.id AS VARCHAR(64)) AND s.provider_message_id = m.provider_message_id") == messages


def die_mid_batch(db: Database, log_path, accepted: int):
    """Run a dispatcher until its exit hook fires after `accepted` texts were accepted; return
    what it left behind: the orphans (db.orphans) and how many of the last batch's accepted
    texts it never recorded (from its own last words)."""
    first = start_dispatcher(db, log_path, TEXTPILOT_TEST_EXIT_AFTER_PROVIDER_ACCEPTED=str(accepted), **LEASE)
    try:
        assert first.wait(timeout=180) == TEST_EXIT_CODE, log_path.read_text()[-3000:]
    finally:
        if first.poll() is None:
            first.kill()
    words = re.search(r"leaving after (\d+) accepted texts, the last (\d+) not recorded", log_path.read_text())
    assert words, log_path.read_text()[-3000:]
    total, unrecorded = map(int, words.groups())
    assert total >= accepted and unrecorded > 0
    orphans = db.orphans()
    # The crash landed mid-batch: the provider has texts the dispatcher never recorded.
    assert len(orphans["accepted"]) >= unrecorded, (orphans, unrecorded)
    assert db.handed_over() >= total and db.pending() > 0
    return orphans


def test_dispatcher_killed_mid_batch_then_another_sends_every_text_exactly_once(database, tmp_path):
    orphans = die_mid_batch(database, tmp_path / "first.log", 1500)
    carrier_ids = dict(database.conn.execute("SELECT client_ref, provider_message_id FROM delivery_simdelivery").fetchall())

    second = start_dispatcher(database, tmp_path / "second.log", **LEASE)
    try:
        wait_until(lambda: database.pending() == 0, 300, "the second dispatcher to finish", second)
    finally:
        stop(second)
    assert_each_sent_exactly_once(database)
    # The orphans the provider had were recovered by asking it: sent, with its id, never resent.
    recovered = dict(database.conn.execute(
        "SELECT id, provider_message_id FROM delivery_message WHERE status_reason = 'recovered: the provider had it'"
    ).fetchall())
    assert set(recovered) == orphans["accepted"]
    assert all(recovered[pk] == carrier_ids[str(pk)] for pk in recovered)


def test_without_lookup_orphans_stay_unknown_until_their_receipt_and_none_is_resent(template, tmp_path):
    messages = 3_000
    db = make_database(template, tmp_path, messages, lookup=False)
    try:
        orphans = die_mid_batch(db, tmp_path / "first.log", 1000)
        every_orphan = orphans["accepted"] | orphans["never_got"]
        second = start_dispatcher(db, tmp_path / "second.log", **LEASE)
        try:
            wait_until(lambda: db.pending() == 0, 300, "the second dispatcher to finish", second)
            statuses = dict(db.conn.execute("SELECT id, status FROM delivery_message").fetchall())
            # Nobody can ask the provider: every orphan is unknown, everything else went once…
            assert {pk for pk, status in statuses.items() if status == "unknown"} == every_orphan
            assert {status for pk, status in statuses.items() if pk not in every_orphan} == {"sent"}
            # …and no orphan was handed over again, not even those the provider never got.
            assert db.handed_over() == db.value("SELECT count(DISTINCT client_ref) FROM delivery_simdelivery") \
                == messages - len(orphans["never_got"])

            # The carrier's receipts for the orphans it has arrive: each settles its text.
            db.make_receipts_due(orphans["accepted"])
            settled = "SELECT count(*) FROM delivery_message WHERE status = 'delivered'"
            wait_until(lambda: db.value(settled) == len(orphans["accepted"]), 60, "the receipts to settle the orphans", second)
        finally:
            stop(second)
        statuses = dict(db.conn.execute("SELECT id, status FROM delivery_message").fetchall())
        assert {pk for pk, status in statuses.items() if status == "delivered"} == orphans["accepted"]
        assert {pk for pk, status in statuses.items() if status == "unknown"} == orphans["never_got"]  # no receipt, no guess
        assert db.handed_over() == messages - len(orphans["never_got"])
    finally:
        db.drop()


def test_two_dispatchers_in_parallel_send_every_text_exactly_once(database, tmp_path):
    workers = [start_dispatcher(database, tmp_path / f"worker{i}.log", TEXTPILOT_DISPATCH_WORKERS="2",
                                TEXTPILOT_LOG_LEVEL="INFO") for i in range(2)]
    try:
        wait_until(lambda: database.pending() == 0, 300, "both dispatchers to finish", *workers)
    finally:
        stop(*workers)
    assert_each_sent_exactly_once(database)
    # Both did part of the work (else this proves nothing about running in parallel).
    sent_by = [_sent_in_log(tmp_path / f"worker{i}.log") for i in range(2)]
    assert sum(sent_by) == MESSAGES and min(sent_by) > 0, sent_by


def _sent_in_log(path) -> int:
    """The `sent` count a dispatcher logs when it stops."""
    found = re.findall(r"dispatcher\.stopped.*?sent\W+(\d+)", path.read_text())
    assert found, path.read_text()[-2000:]
    return int(found[-1])


def test_the_exit_hook_is_inert_outside_test_mode(monkeypatch):
    monkeypatch.setenv("TEXTPILOT_TEST_EXIT_AFTER_PROVIDER_ACCEPTED", "1")
    monkeypatch.delenv("TEXTPILOT_TEST_MODE", raising=False)
    assert crash_hook._exit_after() is None  # production never sets TEXTPILOT_TEST_MODE
    hook = crash_hook.CrashHook(crash_hook._exit_after())
    hook.after_provider_accepted(1_000)  # nothing happens (else this test process would be gone)
    assert hook.accepted == 0
    monkeypatch.setenv("TEXTPILOT_TEST_MODE", "1")
    assert crash_hook._exit_after() == 1
