"""Real `textpilot serve` and `textpilot worker` processes on a SQLite file in a temp data dir
(whatever database the suite runs on: this is about processes, not SQL).

`serve` is stopped the way an operator stops it: Ctrl-C in its terminal, which sends SIGINT
to the whole foreground process group, while a browser-like idle connection is open (what
used to make gunicorn SIGKILL its workers) and the dispatcher is in the middle of sending."""
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

TEXTPILOT = [sys.executable, "-m", "textpilot.cli"]
MESSAGES = 400

SETUP = f"""
from textpilot.delivery import loadgen, service
from textpilot.stores import service as stores
store = stores.create_store("Serve Stop", slug="serve-stop", timezone="America/New_York", country="US")
# 20 texts a second: the run is still sending when it is stopped.
sender = service.create_sender(store, name="Sim", provider="sim", from_number="+14155550100", number_type="short_code",
                               rate_per_second=20, options={{"latency_ms": 20, "dlr_delay_s": 3600}})
print(loadgen.queue_messages(store, sender, loadgen.synthetic_profiles(store, 50), {MESSAGES}))
"""


def child_env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(TEXTPILOT_DATA_DIR=str(data_dir), TEXTPILOT_LOG_FORMAT="json", TEXTPILOT_LOG_LEVEL="INFO",
               TEXTPILOT_QUEUE_NAME=f"test-{uuid.uuid4().hex}")
    return env


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    work = tmp_path_factory.mktemp("serve-template")
    subprocess.run([*TEXTPILOT, "migrate", "--noinput", "-v", "0"], env=child_env(work), check=True, timeout=600)
    return work / "textpilot.sqlite3"


@pytest.fixture
def data_dir(migrated, tmp_path):
    shutil.copy(migrated, tmp_path / "textpilot.sqlite3")
    return tmp_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen, log_path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"exited early ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log_path.read_text()[-3000:]}"
        time.sleep(0.1)


def http_status(url: str, **headers) -> int | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return response.status
    except OSError:
        return None


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def pid_exists(pid: int) -> bool:
    """Alive, not a zombie: a killed child that nobody reaps (its parent was killed too, and
    a container's pid 1 may never reap orphans) has stopped running all the same."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def start_serve(data_dir, env) -> tuple[subprocess.Popen, int, object]:
    port, log_path = free_port(), data_dir / "serve.log"
    # A session of its own, like a shell's foreground job: killpg is the terminal's Ctrl-C.
    serve = subprocess.Popen([*TEXTPILOT, "serve", "--port", str(port)], env=env, stdout=open(log_path, "w"),
                             stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: http_status(f"http://127.0.0.1:{port}/healthz") == 200, 120, "the web server", serve, log_path)
    return serve, port, log_path


def end(serve: subprocess.Popen) -> None:
    if serve.poll() is None:
        os.killpg(serve.pid, signal.SIGKILL)
        serve.wait()


def assert_children_gone(output: str) -> None:
    started = next(e for e in json_lines(output) if e["event"] == "serve.started")
    gunicorn_workers = [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", output)]
    assert len(gunicorn_workers) == 2
    # A SIGKILLed process disappears a moment after the signal: allow it that moment.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(pid_exists(pid) for pid in [started["web"], started["dispatcher"], started["worker"], *gunicorn_workers]):
        time.sleep(0.1)
    assert [pid for pid in [started["web"], started["dispatcher"], started["worker"], *gunicorn_workers] if pid_exists(pid)] == []


def test_ctrl_c_stops_web_then_dispatcher_then_worker_cleanly(data_dir):
    env = child_env(data_dir)
    assert subprocess.run([*TEXTPILOT, "shell", "-c", SETUP], env=env, capture_output=True, text=True,
                          timeout=120, check=True).stdout.split()[-1] == str(MESSAGES)
    db = sqlite3.connect(data_dir / "textpilot.sqlite3", timeout=30)

    def value(sql: str):
        return db.execute(sql).fetchone()[0]

    serve, port, log_path = start_serve(data_dir, env)
    idle = None
    try:
        assert http_status(f"http://127.0.0.1:{port}/healthz?token=sekrit-123", **{"X-Request-ID": "req-7"}) == 200
        wait_for(lambda: value("SELECT count(*) FROM delivery_simdelivery") >= 20, 120, "texts to go out", serve, log_path)
        idle = socket.create_connection(("127.0.0.1", port))  # opened, never used: a browser's preconnect
        time.sleep(0.3)
        os.killpg(serve.pid, signal.SIGINT)
        code = serve.wait(timeout=90)
    finally:
        end(serve)
        if idle is not None:
            idle.close()
    output = log_path.read_text()
    assert code == 0, output[-3000:]
    for bad in ("SIGKILL", "out of memory", "Traceback", "Error handling request"):
        assert bad.lower() not in output.lower(), output[-3000:]

    events = json_lines(output)
    steps = [(e["event"], e["child"]) for e in events if e["event"] in ("serve.stopping", "serve.stopped")]
    assert steps == [(step, child) for child in ("web", "dispatcher", "worker") for step in ("serve.stopping", "serve.stopped")]
    assert_children_gone(output)

    # The dispatcher finished the batches in hand: every text the carrier took is recorded as
    # sent, none is left `sending` or leased, and the stop came while texts were still queued.
    handed_over = value("SELECT count(*) FROM delivery_simdelivery")
    assert value("SELECT count(*) FROM delivery_message WHERE status = 'sent'") == handed_over
    assert value("SELECT count(*) FROM delivery_message WHERE status = 'sending' OR lease_owner != ''") == 0
    assert value("SELECT count(*) FROM delivery_message WHERE status = 'queued'") == MESSAGES - handed_over > 0
    stopped = next(e for e in events if e["event"] == "dispatcher.stopped")
    assert stopped["sent"] == handed_over

    # The request line, without the query string.
    request = next(e for e in events if e["event"] == "request" and e.get("request_id") == "req-7")
    assert (request["method"], request["path"], request["status"], request["store"]) == ("GET", "/healthz", 200, None)
    assert request["duration_ms"] >= 0 and "sekrit" not in output


def test_a_second_ctrl_c_kills_what_is_still_running(data_dir):
    serve, port, log_path = start_serve(data_dir, child_env(data_dir))
    try:
        # The web server's graceful stop waits up to ~7 s for this idle connection: the
        # second Ctrl-C lands while it is still stopping.
        with socket.create_connection(("127.0.0.1", port)):
            time.sleep(0.3)
            os.killpg(serve.pid, signal.SIGINT)
            wait_for(lambda: '"serve.stopping"' in log_path.read_text(), 30, "the stop to begin", serve, log_path)
            time.sleep(0.5)
            os.killpg(serve.pid, signal.SIGINT)
            code = serve.wait(timeout=30)
    finally:
        end(serve)
    output = log_path.read_text()
    assert code == 1, output[-3000:]
    killed = [(e["child"], e["reason"]) for e in json_lines(output) if e["event"] == "serve.killed"]
    assert killed == [("web", "second interrupt"), ("dispatcher", "second interrupt"), ("worker", "second interrupt")]
    assert_children_gone(output)


def test_worker_prints_each_line_once(data_dir):
    log_path = data_dir / "worker.log"
    worker = subprocess.Popen([*TEXTPILOT, "worker", "--workers", "1"], env=child_env(data_dir),
                              stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    try:
        # The periodic heartbeat is enqueued and run at start.
        wait_for(lambda: "executed in" in log_path.read_text(), 60, "the heartbeat task", worker, log_path)
        worker.send_signal(signal.SIGINT)  # Huey's graceful stop
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    output = log_path.read_text()
    assert output.count("Huey consumer started") == 1, output
    executed = re.findall(r"Executing textpilot\.web\.tasks\.web\.worker_heartbeat: ([0-9a-f-]+)", output)
    assert executed and len(executed) == len(set(executed)), output
    # Only our handler prints: every line that starts a record is JSON, none in Huey's own format.
    assert not re.search(r"^\[\d{4}-\d\d-\d\d [\d:,]+\] INFO:huey", output, re.M), output
    assert {e["logger"] for e in json_lines(output)} >= {"huey", "huey.consumer"}
