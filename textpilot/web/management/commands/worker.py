"""`textpilot worker`: the background worker (Huey consumer) with textpilot's defaults.

Accepts every option of Huey's consumer (`--workers`, `--worker-type`, …). SIGINT stops it
gracefully (running tasks finish), SIGTERM at once: Huey's defaults."""
import logging

from huey.contrib.djhuey.management.commands.run_huey import Command as RunHueyCommand

from textpilot.web.queue_status import record_worker_heartbeat


class Command(RunHueyCommand):
    help = "Run the background worker (Huey consumer)."

    def handle(self, *args, **options):
        apply_huey_log_options(options)
        # Say "alive" at once; the periodic web.worker_heartbeat task keeps it fresh.
        record_worker_heartbeat()
        super().handle(*args, **options)


def apply_huey_log_options(options: dict) -> None:
    """Huey sets up a handler of its own only when the "huey" logger has none; ours (see
    logconfig) is there, so its logging flags are applied to ours instead."""
    huey_logger = logging.getLogger("huey")
    if options.get("verbose") is not None:  # --huey-verbose: True, --quiet: False
        huey_logger.setLevel(logging.DEBUG if options["verbose"] else logging.WARNING)
    if options.get("logfile") and huey_logger.handlers:
        to_file = logging.FileHandler(options["logfile"])
        to_file.setFormatter(huey_logger.handlers[0].formatter)
        huey_logger.addHandler(to_file)
