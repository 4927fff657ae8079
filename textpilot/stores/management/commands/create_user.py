from django.core.management.base import BaseCommand, CommandError

from textpilot.common.errors import DomainError
from textpilot.stores import service
from textpilot.stores.models import Membership


class Command(BaseCommand):
    help = "Create a dashboard user (or reset their password) with a role in a store."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="store slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", default=Membership.Role.OWNER, choices=Membership.Role.values)

    def handle(self, *args, **opts):
        try:
            store = service.get_store(opts["store"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        service.ensure_user(opts["email"], opts["password"], store, opts["role"])
        self.stdout.write(f"user {opts['email']} is {opts['role']} of {store.slug}")
