from django.core.management.base import BaseCommand, CommandError

from textpilot.common.errors import DomainError
from textpilot.stores import service


class Command(BaseCommand):
    help = "Create an API key for a store and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="store slug")
        parser.add_argument("--name", default="cli")

    def handle(self, *args, **opts):
        try:
            store = service.get_store(opts["store"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        _, raw_key = service.create_api_key(store, opts["name"])
        self.stdout.write(raw_key)
