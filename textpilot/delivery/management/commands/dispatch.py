"""`textpilot dispatch`: the process that hands queued texts to providers (see delivery/dispatch.py).

Run one per machine or more; several dispatchers on one database never send a message twice.
SIGTERM/SIGINT stop it after the batches in hand are sent and recorded; a claim a stop cut
short is given back at once (see Dispatcher.run)."""
import asyncio
import signal

from django.core.management.base import BaseCommand

from textpilot.delivery.dispatch import Dispatcher, dispatch_until_idle


class Command(BaseCommand):
    help = "Send queued messages through their providers until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="send what is due now, then exit")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--max-seconds", type=float, default=300.0, help="with --once: give up after this long")

    def handle(self, *args, **opts):
        if opts["once"]:
            handled = dispatch_until_idle(opts["max_seconds"], batch_size=opts["batch_size"])
            self.stdout.write(f"handled {handled} message(s)")
            return
        asyncio.run(self._run_forever(opts["batch_size"]))

    async def _run_forever(self, batch_size: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Dispatcher(batch_size=batch_size).run(stop)
