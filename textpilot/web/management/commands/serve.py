"""`textpilot serve`: web server, worker and dispatcher together, for one machine (what `make demo` runs).

Both run as child processes; Ctrl-C (or SIGTERM) stops both. For production, run the web
(gunicorn textpilot.wsgi), `textpilot worker` and `textpilot dispatch` processes under your process manager instead."""
import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and a worker together until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("TEXTPILOT_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("TEXTPILOT_PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("TEXTPILOT_WEB_WORKERS", "2")))
        parser.add_argument("--login", default="", help="login hint to print with the URL")

    def handle(self, *args, **opts):
        env = os.environ.copy()
        # Providers (and the simulated phone) post receipts and replies back to this address.
        env.setdefault("TEXTPILOT_PUBLIC_URL", f"http://{opts['host']}:{opts['port']}")
        children = [
            subprocess.Popen([
                sys.executable, "-m", "gunicorn", "textpilot.wsgi:application",
                "--bind", f"{opts['host']}:{opts['port']}", "--workers", str(opts["web_workers"]),
                "--access-logfile", "-", "--graceful-timeout", "5",
            ], env=env),
            subprocess.Popen([sys.executable, "-m", "textpilot.cli", "worker"], env=env),
            subprocess.Popen([sys.executable, "-m", "textpilot.cli", "dispatch"], env=env),
        ]
        self.stdout.write(self.style.SUCCESS(f"textpilot is running at http://{opts['host']}:{opts['port']}/"))
        if opts["login"]:
            self.stdout.write(f"log in with {opts['login']}")
        self.stdout.write("press Ctrl-C to stop")

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        self.stderr.write("a child process exited; stopping the others")
        stop()
