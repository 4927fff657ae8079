"""The real worker process (`textpilot worker`) picks up tasks from each queue backend:
SQLite storage (the single-machine default) and Redis (when REDIS_URL is set)."""
import os
import subprocess
import sys
import time
import uuid

import pytest

TEXTPILOT = [sys.executable, "-m", "textpilot.cli"]

SETUP = """
from decimal import Decimal
from textpilot.stores import service as stores
from textpilot.profiles import service as profiles
from textpilot.commerce import service as commerce
from textpilot.commerce.models import CustomerStats
from textpilot.commerce.tasks import recompute_rollups
store = stores.create_store("Worker Test", slug="worker-test")
ann = profiles.create_profile(store, phone="+14155552671")
commerce.record_order(store, external_id="1", total="12.50", profile=ann, payment_status="paid")
CustomerStats.objects.filter(pk=ann.pk).update(orders_count=0, total_spent=Decimal("0"))
recompute_rollups(store.pk)
print("enqueued")
"""

CHECK = """
from textpilot.commerce.models import CustomerStats
from textpilot.common.queue_status import describe
p = CustomerStats.objects.get(profile__phone="+14155552671")
print(p.orders_count, p.total_spent, describe()["worker_alive"])
"""


def run_textpilot(env, *args, code=None):
    command = [*TEXTPILOT, *args] + (["--no-imports", "-c", code] if code else [])
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.fixture
def worker_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["TEXTPILOT_DATA_DIR"] = str(tmp_path)
    # Unique per run: Redis outlives the test session (the SQLite run, then the PostgreSQL one).
    env["TEXTPILOT_QUEUE_NAME"] = f"test-{uuid.uuid4().hex}"
    return env


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_worker_runs_enqueued_tasks(worker_env, backend):
    if backend == "redis":
        worker_env["REDIS_URL"] = os.environ["REDIS_URL_FOR_TESTS"]
    run_textpilot(worker_env, "migrate", "--noinput")
    assert "enqueued" in run_textpilot(worker_env, "shell", code=SETUP)
    assert run_textpilot(worker_env, "shell", code=CHECK).split() == ["0", "0.00", "False"]

    worker = subprocess.Popen([*TEXTPILOT, "worker", "--workers", "1"], env=worker_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            state = run_textpilot(worker_env, "shell", code=CHECK).split()
            if state[:2] == ["1", "12.50"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert state == ["1", "12.50", "True"]
    finally:
        worker.terminate()
        worker.wait(timeout=20)
