"""`textpilot smpp_listen --sender <id>`: keep an SMPP sender's bind open and store its
delivery receipts and inbound texts (see delivery/providers/smpp/listener.py). One process
per smpp sender; SIGTERM/SIGINT unbind and exit."""
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from textpilot.delivery.models import Sender
from textpilot.delivery.providers.smpp.listener import Listener


class Command(BaseCommand):
    help = "Receive SMPP delivery receipts and inbound texts for one smpp sender until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--sender", type=int, required=True, help="id of a sender whose provider is smpp")

    def handle(self, *args, **opts):
        sender = Sender.objects.select_related("store").filter(pk=opts["sender"]).first()
        if sender is None:
            raise CommandError(f"no sender with id {opts['sender']}")
        if sender.provider != "smpp":
            raise CommandError(f"sender {sender.pk} uses the {sender.provider!r} provider, not smpp")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"listening for sender {sender.pk} ({sender.name}) at "
                          f"{sender.options.get('host')}:{sender.options.get('port')}")
        Listener(sender, stop).run()
