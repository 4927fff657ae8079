"""Small helpers shared by the benchmarks: timing, percentiles, peak RSS, machine info,
JSON results in bench/results/<name>.json and the summary in bench/RESULTS.md.

A result file looks like:
    {"name": ..., "title": ..., "description": ..., "params": {...}, "machine": {...},
     "started_at": ..., "seconds": ..., "notes": [...],
     "runs": [{"label": "PostgreSQL 15.20", "database": {"vendor": ..., "version": ...},
               "metrics": [{"metric": ..., "value": ..., "unit": ..., "target": ..., "baseline": ...}]}]}
`baseline` is always a number measured in the same run (never a remembered figure), and
`target` is a short text such as "≥ 50,000 rows/s" or "" when there is none.
"""
import json
import math
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
VENV_BIN = ROOT / ".venv" / "bin"


# -- timing and statistics ---------------------------------------------------------------
class Stopwatch:
    def __init__(self):
        self.started = time.perf_counter()
        self.seconds = 0.0

    def stop(self) -> float:
        self.seconds = time.perf_counter() - self.started
        return self.seconds


@contextmanager
def timed():
    """with timed() as watch: ...; watch.seconds"""
    watch = Stopwatch()
    try:
        yield watch
    finally:
        watch.stop()


def percentile(values, p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); p in 0..100."""
    data = sorted(values)
    if not data:
        return float("nan")
    k = (len(data) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] if lo == hi else data[lo] + (data[hi] - data[lo]) * (k - lo)


def latency_summary(seconds_list) -> dict:
    """p50/p95/p99/mean/max in milliseconds."""
    ms = [s * 1000 for s in seconds_list]
    return {
        "count": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
        "max_ms": max(ms) if ms else float("nan"),
    }


def peak_rss_mb(who: str = "self") -> float:
    """Peak resident set size so far, MB (`who`: "self" or "children" — the largest waited-for child)."""
    usage = resource.getrusage(resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN)
    return usage.ru_maxrss / 1024.0  # Linux reports KiB


def run_child_with_rusage(args, env=None, timeout=None, cwd=ROOT, log_path=None) -> dict:
    """Run a command to completion; wall seconds and *its own* peak RSS (reaped with os.wait4).

    Output goes to `log_path` (read back into "output"), not a pipe, so a chatty child never blocks."""
    started = time.perf_counter()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise RuntimeError(f"{args[0]} timed out after {timeout}s")
            time.sleep(0.05)
    finally:
        if log_path:
            log.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": proc.returncode,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "output": Path(log_path).read_text() if log_path else "",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- environment --------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict:
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "loadavg": load_average(),
    }


def cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by the given processes (Linux /proc); a process
    that is gone counts 0, so take the difference over a phase in which they all live."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def load_average() -> list[float]:
    """1/5/15-minute load averages: other work on a shared box skews wall-clock numbers."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def pg_admin_url() -> str:
    """The PostgreSQL server to create scratch databases on (TEXTPILOT_BENCH_PG_URL)."""
    return os.environ.get("TEXTPILOT_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def pg_url_for(database: str) -> str:
    base = pg_admin_url().rsplit("/", 1)[0]
    return f"{base}/{database}"


def create_pg_database(name: str) -> str:
    import psycopg

    with psycopg.connect(pg_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url_for(name)


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(pg_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_available() -> bool:
    try:
        postgres_version(pg_admin_url())
        return True
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return False


def for_each_database(prefix: str, measure, what: str) -> tuple[list, list]:
    """Run `measure(label, url)` -> (metrics, notes) on SQLite, then on a scratch PostgreSQL
    database when one is reachable; returns (runs, notes) in the result-file shape. `what`
    ends each run's label ("one `textpilot dispatch` process")."""
    runs, notes = [], []
    targets = [("sqlite", None)]
    if pg_available():
        targets.append(("postgresql", f"{prefix}_{os.getpid()}"))
    else:
        notes.append("PostgreSQL was not reachable (TEXTPILOT_BENCH_PG_URL); only SQLite was measured.")
    for label, pg_db in targets:
        url = create_pg_database(pg_db) if pg_db else None
        try:
            metrics, run_notes = measure(label, url)
            database = ({"vendor": "postgresql", "version": postgres_version(url)} if url
                        else {"vendor": "sqlite", "version": sqlite_version()})
        finally:
            if pg_db:
                drop_pg_database(pg_db)
        runs.append({"label": f"{'PostgreSQL' if url else 'SQLite (WAL)'}, {what}", "database": database,
                     "metrics": metrics, "notes": run_notes})
    return runs, notes


def textpilot_env(database_url: str | None, data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TEXTPILOT_DATA_DIR"] = str(data_dir)
    env["TEXTPILOT_LOG_LEVEL"] = env.get("TEXTPILOT_BENCH_LOG_LEVEL", "WARNING")
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def migrate(label: str, env: dict, log_path: Path) -> None:
    """`textpilot migrate` in a child process; a failure stops the benchmark with its output."""
    result = run_child_with_rusage(textpilot("migrate", "--noinput", "-v", "0"), env=env, timeout=600, log_path=log_path)
    if result["returncode"]:
        raise RuntimeError(f"migrate failed on {label}:\n{result['output'][-3000:]}")


def run_setup_script(label: str, env: dict, script: str) -> dict:
    """Run a Python setup script (store, API key, …) against the benchmark database; it
    prints a JSON object on its last line, which is returned."""
    setup = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if setup.returncode:
        raise RuntimeError(f"setup failed on {label}: {setup.stderr[-2000:]}")
    return json.loads(setup.stdout.strip().splitlines()[-1])


def textpilot(*args) -> list[str]:
    exe = VENV_BIN / "textpilot"
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "textpilot.cli", *args]


# -- results ------------------------------------------------------------------------------
def metric(name: str, value, unit: str = "", target: str = "", baseline=None, baseline_label: str = "") -> dict:
    return {"metric": name, "value": value, "unit": unit, "target": target, "baseline": baseline, "baseline_label": baseline_label}


def save_result(result: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result['name']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)
    return path


def load_results() -> list[dict]:
    results = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"skipping {path.name}: {exc}", file=sys.stderr)
    return results


def _fmt(value, unit: str = "") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def render_results_md(results: list[dict]) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python bench/run.py` from `bench/results/*.json` — do not edit by hand.",
        "Every baseline was measured in the same run as the value next to it, on the same machine.",
        "",
    ]
    for result in results:
        machine = result.get("machine", {})
        lines += [f"## {result.get('title', result['name'])}", ""]
        if result.get("description"):
            lines += [result["description"], ""]
        lines.append(
            f"Run {machine.get('date', '?')} at commit `{machine.get('git_commit', '?')}` on {machine.get('cores', '?')} cores "
            f"({machine.get('cpu', '?')}, {machine.get('memory_gb', '?')} GB), Python {machine.get('python', '?')}; "
            f"total {result.get('seconds', 0):,.0f} s; load average before/after: "
            f"{machine.get('loadavg', '?')} / {result.get('loadavg_after', '?')} (other work on the box slows wall-clock figures)."
        )
        if result.get("params"):
            lines.append("Parameters: " + ", ".join(f"{k}={v}" for k, v in result["params"].items()) + ".")
        lines.append("")
        for run in result.get("runs", []):
            db = run.get("database", {})
            lines += [f"### {run.get('label', '')} ({db.get('vendor', '')} {db.get('version', '')})".rstrip(), ""]
            lines += ["| metric | value | target | baseline (same run) |", "|---|---:|---|---:|"]
            for m in run.get("metrics", []):
                baseline = _fmt(m.get("baseline"), m.get("unit", ""))
                if baseline and m.get("baseline_label"):
                    baseline += f" ({m['baseline_label']})"
                lines.append(f"| {m['metric']} | {_fmt(m.get('value'), m.get('unit', ''))} | {m.get('target', '')} | {baseline} |")
            lines.append("")
            for note in run.get("notes", []):
                lines.append(f"- {note}")
            if run.get("notes"):
                lines.append("")
        for note in result.get("notes", []):
            lines.append(f"- {note}")
        if result.get("notes"):
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def regenerate_results_md() -> Path:
    RESULTS_MD.write_text(render_results_md(load_results()))
    return RESULTS_MD


# -- a real web server for HTTP benchmarks ----------------------------------------------
class Server:
    """gunicorn with 2 sync workers on a free 127.0.0.1 port; `app` and `pythonpath` let a
    benchmark serve a WSGI app of its own (a bare baseline) the same way as textpilot."""

    def __init__(self, env: dict, log: Path, app: str = "textpilot.wsgi:application", pythonpath: Path | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        extra = ["--pythonpath", str(pythonpath)] if pythonpath else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--graceful-timeout", "5", "--timeout", "60", *extra],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master), to read their CPU time."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=2)  # any answer (even 503: no worker) means it serves
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# -- running one benchmark script on its own ------------------------------------------------
def run_standalone(run, description: str) -> int:
    """`python bench/<name>.py [--quick]`: run, save the JSON result, print the metrics."""
    import argparse

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    result = run(quick=parser.parse_args().quick)
    path = save_result(result)
    for m in result["runs"][0]["metrics"]:
        label = f": {m['baseline_label']}" if m.get("baseline_label") else ""
        baseline = f"  (baseline {_fmt(m['baseline'], m['unit'])}{label})" if m.get("baseline") is not None else ""
        print(f"{m['metric']}: {_fmt(m['value'], m['unit'])}{baseline}")
    for note in result.get("notes", []):
        print(note)
    print(f"saved {path.relative_to(ROOT)}")
    return 0
