"""Real `textpilot` processes on a database of their own, for the safety tests (exactly once,
opt-out races): a SQLite file in tmp_path on the SQLite run, a fresh PostgreSQL database on
the PostgreSQL run, migrated once per module and copied for each test."""
import datetime
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
REDIS_URL = os.environ["REDIS_URL_FOR_TESTS"]


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

    def orphans(self) -> dict[str, set[int]]:
        """Texts left `sending` by a dead dispatcher: those the sim carrier has (it accepted
        them, their result was never recorded) and those it never got."""
        rows = self.conn.execute("SELECT m.id, (SELECT count(*) FROM delivery_simdelivery s "
                                 "WHERE s.client_ref = CAST(m.id AS VARCHAR(64))) FROM delivery_message m "
                                 "WHERE m.status = 'sending'").fetchall()
        return {"accepted": {pk for pk, n in rows if n}, "never_got": {pk for pk, n in rows if not n}}

    def make_receipts_due(self, message_ids) -> None:
        """The sim carrier sends the receipts of these texts now (instead of in an hour)."""
        refs = [str(pk) for pk in message_ids]
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        if self.vendor == "sqlite":
            marks = ", ".join("?" * len(refs))
            self.conn.execute(f"UPDATE delivery_simdelivery SET receipt_due_at = ? WHERE client_ref IN ({marks})",
                              (past.replace(tzinfo=None).isoformat(" "), *refs))
        else:
            self.conn.execute("UPDATE delivery_simdelivery SET receipt_due_at = %s WHERE client_ref = ANY(%s)", (past, refs))

    def make_due(self) -> None:
        """Every queued text is due from now (in the backend's own datetime format)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        if self.vendor == "sqlite":
            self.conn.execute("UPDATE delivery_message SET send_after = ? WHERE status = 'queued'",
                              (now.replace(tzinfo=None).isoformat(" "),))
        else:
            self.conn.execute("UPDATE delivery_message SET send_after = %s WHERE status = 'queued'", (now,))

    def drop(self):
        self.conn.close()
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(_pg_admin_url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _child_env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEXTPILOT_DISPATCH_WORKERS")}
    # Test mode: the dispatcher honours its test-only exit hook (delivery/crash_hook.py).
    env.update(TEXTPILOT_DATA_DIR=str(data_dir), TEXTPILOT_LOG_LEVEL="WARNING", TEXTPILOT_TEST_MODE="1")
    return env


def clear_rate_schedules(prefix: str = "textpilot:send-rate") -> None:
    """Remove the senders' shared rate schedules under `prefix` from the test Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


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


def start_dispatcher(db: Database, log_path, *args: str, **env) -> subprocess.Popen:
    return subprocess.Popen([*PYTHON_TEXTPILOT, "dispatch", *args], env={**db.env, **env}, stdout=open(log_path, "w"),
                            stderr=subprocess.STDOUT)


def wait_for_log(path, text: str, timeout: float, *procs) -> None:
    """Until `text` appears in the log a child process writes."""
    wait_until(lambda: path.exists() and text in path.read_text(), timeout, f"{text!r} in {path.name}", *procs)


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


def prepare(template, tmp_path, setup_command: list[str]) -> tuple["Database", str]:
    """A copy of the template database with `setup_command` run against it; returns it and
    what the command printed."""
    vendor, source = template
    db = Database(vendor, tmp_path, source)
    out = subprocess.run(setup_command, env=db.env, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        db.drop()
        raise AssertionError(out.stderr[-3000:])
    return db, out.stdout
