"""Exactly once, with real `textpilot dispatch` processes on a database of their own (a
SQLite file in tmp_path on the SQLite run, a fresh PostgreSQL database on the PostgreSQL run):

- a dispatcher killed with SIGKILL in the middle of 10,000 texts, then another one started:
  every text ends sent, and the sim carrier's log (never deduplicated) has exactly one row
  per text;
- two dispatchers in parallel over 10,000 texts: the same.

The lease is 5 s here (TEXTPILOT_DISPATCH_LEASE_SECONDS) so the killed worker's texts are
recovered quickly; recovery asks the carrier (lookup) before sending anything again."""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

PYTHON_TEXTPILOT = [sys.executable, "-m", "textpilot.cli"]
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


class Database:
    """The test's own database, reached from this process with the plain driver."""

    def __init__(self, vendor: str, tmp_path, template):
        self.vendor, self.env = vendor, _child_env(tmp_path)
        if vendor == "sqlite":
            shutil.copy(template, tmp_path / "textpilot.sqlite3")
            self.conn = sqlite3.connect(tmp_path / "textpilot.sqlite3", timeout=30, isolation_level=None)
        else:
            import psycopg

            self.name = f"tp_exactly_once_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(_pg_admin_url(), autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"')
            self.env["DATABASE_URL"] = _pg_url(self.name)
            self.conn = psycopg.connect(self.env["DATABASE_URL"], autocommit=True)

    def value(self, sql: str):
        return self.conn.execute(sql).fetchone()[0]

    def pending(self) -> int:
        return self.value("SELECT count(*) FROM delivery_message WHERE status IN ('queued', 'sending')")

    def handed_over(self) -> int:
        return self.value("SELECT count(*) FROM delivery_simdelivery")

    def drop(self):
        self.conn.close()
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(_pg_admin_url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _child_env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(TEXTPILOT_DATA_DIR=str(data_dir), TEXTPILOT_LOG_LEVEL="WARNING")
    return env


def _pg_admin_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"


def _pg_url(name: str) -> str:
    return _pg_admin_url().rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One migrated database per run, copied for each test (migrating takes longer than the test)."""
    from django.db import connection

    vendor = connection.vendor
    work = tmp_path_factory.mktemp("exactly-once-template")
    env = _child_env(work)
    if vendor == "postgresql":
        import psycopg

        name = f"tp_exactly_once_tpl_{os.getpid()}"
        with psycopg.connect(_pg_admin_url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = _pg_url(name)
    subprocess.run([*PYTHON_TEXTPILOT, "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=600)
    if vendor == "sqlite":
        yield vendor, work / "textpilot.sqlite3"
        return
    yield vendor, name
    with psycopg.connect(_pg_admin_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database(template, tmp_path):
    vendor, source = template
    db = Database(vendor, tmp_path, source)
    out = subprocess.run([sys.executable, "-c", SETUP % MESSAGES], env=db.env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-1] == str(MESSAGES)
    yield db
    db.drop()


def start_dispatcher(db: Database, log_path, **env) -> subprocess.Popen:
    return subprocess.Popen([*PYTHON_TEXTPILOT, "dispatch"], env={**db.env, **env}, stdout=open(log_path, "w"),
                            stderr=subprocess.STDOUT)


def wait_until(condition, timeout: float, what: str, *procs) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            assert proc.poll() is None, f"a dispatcher exited early with {proc.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def stop(*procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
