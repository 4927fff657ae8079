"""`textpilot serve`: web server, dispatcher and worker together, for one machine (what `make demo` runs).

They run as child processes, each in a process group of its own, so the terminal's Ctrl-C
reaches only this process and the children are stopped in order, each given a grace period:
the web server first (it stops accepting at once and finishes the requests in hand), then
the dispatcher (it finishes the batches in hand and gives back what it had claimed), then
the worker (running tasks finish). A clean stop exits 0; a second Ctrl-C kills whatever is
still running. For production, run the web (gunicorn textpilot.wsgi), `textpilot dispatch`
and `textpilot worker` processes under your process manager instead."""
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import structlog
from django.core.management.base import BaseCommand

from textpilot.delivery.dispatch import STOP_DRAIN_SECONDS

log = structlog.get_logger(__name__)

# gunicorn's own limit for finishing the requests in hand after SIGTERM.
WEB_GRACEFUL_SECONDS = 10
HOUSEKEEPING_SECONDS = 5  # what a child may need after its own limit (closing, logging)
WORKER_GRACE_SECONDS = 30  # running tasks finish; the CSV import resumes anything cut off


@dataclass
class Child:
    name: str
    argv: list[str]
    stop_signal: signal.Signals  # the signal that asks it to stop gracefully
    grace: float  # seconds it gets after that signal before it is killed
    process: subprocess.Popen | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """The whole group: gunicorn's workers must not outlive their master."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


def children(host: str, port: int, web_workers: int, web_threads: int) -> list[Child]:
    """In stop order."""
    python = sys.executable
    web = [
        python, "-m", "gunicorn", "textpilot.wsgi:application", "--bind", f"{host}:{port}",
        # gthread, not sync: a sync worker blocks reading a connection a browser opened
        # ahead and never used, so a stop waited for the graceful timeout and gunicorn then
        # SIGKILLed it ("Worker was sent SIGKILL! Perhaps out of memory?"). gthread gives
        # such a connection 5 s + the keep-alive (2 s), well inside the graceful timeout.
        "--workers", str(web_workers), "--worker-class", "gthread", "--threads", str(web_threads),
        "--graceful-timeout", str(WEB_GRACEFUL_SECONDS),
        # No access log: the request line (web/middleware.py) replaces it without the
        # query string. No control socket: one fixed path per user, shared by every serve.
        "--no-control-socket",
    ]
    return [
        Child("web", web, signal.SIGTERM, WEB_GRACEFUL_SECONDS + HOUSEKEEPING_SECONDS),
        Child("dispatcher", [python, "-m", "textpilot.cli", "dispatch"], signal.SIGTERM,
              STOP_DRAIN_SECONDS + HOUSEKEEPING_SECONDS),
        Child("worker", [python, "-m", "textpilot.cli", "worker"], signal.SIGINT,  # Huey's graceful signal
              WORKER_GRACE_SECONDS),
    ]


class Command(BaseCommand):
    help = "Run the web server (gunicorn), a dispatcher and a worker together until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("TEXTPILOT_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("TEXTPILOT_PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("TEXTPILOT_WEB_WORKERS", "2")))
        parser.add_argument("--web-threads", type=int, default=int(os.environ.get("TEXTPILOT_WEB_THREADS", "4")))
        parser.add_argument("--login", default="", help="login hint to print with the URL")

    def handle(self, *args, **opts):
        self.signals = 0
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        env = os.environ.copy()
        # Providers (and the simulated phone) post receipts and replies back to this address.
        env.setdefault("TEXTPILOT_PUBLIC_URL", f"http://{opts['host']}:{opts['port']}")
        procs = children(opts["host"], opts["port"], opts["web_workers"], opts["web_threads"])
        for child in procs:
            if not self.signals:
                child.process = subprocess.Popen(child.argv, env=env, process_group=0)
        log.info("serve.started", **{child.name: child.process.pid for child in procs if child.process})
        self.stdout.write(self.style.SUCCESS(f"textpilot is running at http://{opts['host']}:{opts['port']}/"))
        if opts["login"]:
            self.stdout.write(f"log in with {opts['login']}")
        self.stdout.write("press Ctrl-C to stop")

        while not self.signals and all(child.running() for child in procs):
            time.sleep(0.2)
        crashed = [child for child in procs if child.process and not child.running()]
        for child in crashed:
            log.error("serve.child_exited", child=child.name, code=child.process.returncode)
        clean = self._stop(procs)
        sys.exit(0 if clean and not crashed else 1)

    def _on_signal(self, signum, frame):
        # Only counted: writing to stderr here could interrupt a write in progress on it
        # (a reentrant call). _stop logs what a second signal made it do.
        self.signals += 1

    def _stop(self, procs: list[Child]) -> bool:
        """Each child in turn: its graceful signal, then up to its grace period. True when
        all of them stopped by themselves with exit code 0."""
        clean = True
        for child in procs:
            if not child.running():
                continue
            log.info("serve.stopping", child=child.name, pid=child.process.pid)
            child.process.send_signal(child.stop_signal)
            deadline = time.monotonic() + child.grace
            while child.running() and self.signals < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            if child.running():
                clean = False
                log.warning("serve.killed", child=child.name, pid=child.process.pid,
                            reason="second interrupt" if self.signals >= 2 else f"still running after {child.grace:g} s")
                child.kill()
            elif child.process.returncode != 0:
                clean = False
                log.warning("serve.child_failed", child=child.name, code=child.process.returncode)
            else:
                log.info("serve.stopped", child=child.name)
        return clean
