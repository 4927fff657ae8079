from django.core.management.base import BaseCommand, CommandError

from textpilot.common.errors import DomainError
from textpilot.stores import service


class Command(BaseCommand):
    help = "Create a store (tenant)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug")
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--country", default="US")

    def handle(self, *args, **opts):
        try:
            store = service.create_store(
                opts["name"], slug=opts["slug"], timezone=opts["timezone"], currency=opts["currency"], country=opts["country"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"created store {store.slug}")
