"""`textpilot shopify_backfill <store>`: load the shop's history (products, customers, orders,
abandoned checkouts). Runs here and prints progress, or with --enqueue hands it to the worker.
--resume continues the store's latest unfinished backfill from its last saved page."""
from django.core.management.base import BaseCommand, CommandError

from textpilot.common.errors import DomainError
from textpilot.integrations.shopify import backfill
from textpilot.integrations.shopify.client import ShopifyError
from textpilot.integrations.shopify.queries import DEFAULT_ORDER
from textpilot.stores import service as stores


class Command(BaseCommand):
    help = "Backfill a store's Shopify history through the Admin GraphQL API (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("store", help="store slug")
        parser.add_argument("--resources", nargs="+", choices=DEFAULT_ORDER, help="default: all, in the order products, customers, orders, checkouts")
        parser.add_argument("--resume", action="store_true", help="continue the latest unfinished backfill instead of starting a new one")
        parser.add_argument("--force", action="store_true", help="with --resume: take over a job that looks running (its process died)")
        parser.add_argument("--enqueue", action="store_true", help="let the worker run it instead of this process")

    def handle(self, *args, **opts):
        try:
            store = stores.get_store(opts["store"])
            if opts["resume"]:
                job = backfill.latest_job(store)
                if job is None or job.status == job.Status.COMPLETED:
                    raise CommandError("no unfinished backfill to resume")
                if not opts["force"]:
                    job = backfill.resume_backfill(store, job.pk)
            else:
                job = backfill.start_backfill(store, opts["resources"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["enqueue"]:
            from textpilot.integrations.shopify.tasks import run_shopify_backfill

            run_shopify_backfill(job.pk)
            self.stdout.write(f"backfill {job.pk} queued for the worker")
            return
        self.stdout.write(f"backfill {job.pk}: {', '.join(job.resources)}")
        try:
            job = backfill.run_backfill(job.pk, force=opts["force"])
        except (ShopifyError, DomainError) as exc:
            raise CommandError(f"backfill {job.pk} stopped: {exc}; run again with --resume to continue") from exc
        for row in backfill.progress(job)["resources"]:
            total = "?" if row["total"] is None else row["total"]
            self.stdout.write(f"  {row['name']}: {row['done']} of {total}" + (f", {row['rejected']} rejected" if row["rejected"] else ""))
        self.stdout.write(f"backfill {job.pk} {job.status}")
