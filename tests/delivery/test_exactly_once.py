"""Exactly once, with real `textpilot dispatch` processes on a database of their own (a
SQLite file in tmp_path on the SQLite run, a fresh PostgreSQL database on the PostgreSQL run):

- a dispatcher killed with SIGKILL in the middle of 10,000 texts, then another one started:
  every text ends sent, and the sim carrier's log (never deduplicated) has exactly one row
  per text;
- two dispatchers in parallel over 10,000 texts: the same.

The lease is 5 s here (TEXTPILOT_DISPATCH_LEASE_SECONDS) so the killed worker's texts are
recovered quickly; recovery asks the carrier (lookup) before sending anything again."""
import signal
import sys

import pytest
from realprocess import Database, prepare, start_dispatcher, stop, template, wait_until  # noqa: F401 (template is a fixture)

MESSAGES = 10_000

SETUP = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "textpilot.settings")
django.setup()
from textpilot.delivery import loadgen, service
from textpilot.stores import service as stores
store = stores.create_store("Exactly Once", slug="exactly-once", timezone="America/New_York", country="US")
sender = service.create_sender(store, name="Sim", provider="sim", from_number="+14155550100", number_type="short_code",
                               rate_per_second=5000, options={"latency_ms": 3, "dlr_delay_s": 3600})
profiles = loadgen.synthetic_profiles(store, 500)
print(loadgen.queue_messages(store, sender, profiles, %d))
"""


@pytest.fixture
def database(template, tmp_path):
    db, printed = prepare(template, tmp_path, [sys.executable, "-c", SETUP % MESSAGES])
    assert printed.split()[-1] == str(MESSAGES)
    yield db
    db.drop()


def assert_each_sent_exactly_once(db: Database) -> None:
    statuses = dict(db.conn.execute("SELECT status, count(*) FROM delivery_message GROUP BY status").fetchall())
    assert set(statuses) <= {"sent", "delivered"} and sum(statuses.values()) == MESSAGES, statuses
    assert db.handed_over() == MESSAGES
    assert db.value("SELECT count(DISTINCT client_ref) FROM delivery_simdelivery") == MESSAGES
    # Every carrier row is one of our messages and names the provider id we recorded.
    assert db.value("SELECT count(*) FROM delivery_simdelivery s JOIN delivery_message m "
                    "ON s.client_ref = CAST(m.id AS VARCHAR(64)) AND s.provider_message_id = m.provider_message_id") == MESSAGES


def test_dispatcher_killed_mid_batch_then_another_sends_every_text_exactly_once(database, tmp_path):
    lease = {"TEXTPILOT_DISPATCH_LEASE_SECONDS": "5"}
    first = start_dispatcher(database, tmp_path / "first.log", **lease)
    try:
        wait_until(lambda: database.handed_over() >= 1500, 180, "the first dispatcher to hand over 1,500 texts", first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    at_kill = database.handed_over()
    assert at_kill < MESSAGES and database.pending() > 0, "the kill came too late to interrupt anything"

    second = start_dispatcher(database, tmp_path / "second.log", **lease)
    try:
        wait_until(lambda: database.pending() == 0, 300, "the second dispatcher to finish", second)
    finally:
        stop(second)
    assert_each_sent_exactly_once(database)


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
    import re

    found = re.findall(r"dispatcher\.stopped.*?sent\W+(\d+)", path.read_text())
    assert found, path.read_text()[-2000:]
    return int(found[-1])
