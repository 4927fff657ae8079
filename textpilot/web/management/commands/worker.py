"""`textpilot worker`: the background worker (Huey consumer) with textpilot's defaults.

Accepts every option of Huey's consumer (`--workers`, `--worker-type`, …)."""
from huey.contrib.djhuey.management.commands.run_huey import Command as RunHueyCommand

from textpilot.common.queue_status import record_worker_heartbeat


class Command(RunHueyCommand):
    help = "Run the background worker (Huey consumer)."

    def handle(self, *args, **options):
        # Say "alive" at once; the periodic web.worker_heartbeat task keeps it fresh.
        record_worker_heartbeat()
        super().handle(*args, **options)
