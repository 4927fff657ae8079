"""`textpilot shopify_connect <store> <shop> --access-token … --webhook-secret …`

Links a store to its Shopify shop; both secrets are stored encrypted. The token is first
checked with one Admin API call (GET shop.json) unless --skip-check. Secrets may come from
SHOPIFY_ACCESS_TOKEN / SHOPIFY_WEBHOOK_SECRET instead of the command line (which other users
of the machine can see in the process list)."""
import os

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from textpilot.common.errors import DomainError
from textpilot.integrations.shopify import connections, processing
from textpilot.stores import service as stores


class Command(BaseCommand):
    help = "Connect a store to its Shopify shop (Admin API token and webhook secret are stored encrypted)."

    def add_arguments(self, parser):
        parser.add_argument("store", help="store slug")
        parser.add_argument("shop_domain", help="your-shop.myshopify.com")
        parser.add_argument("--access-token", default=os.environ.get("SHOPIFY_ACCESS_TOKEN", ""), help="Admin API access token (or SHOPIFY_ACCESS_TOKEN)")
        parser.add_argument("--webhook-secret", default=os.environ.get("SHOPIFY_WEBHOOK_SECRET", ""), help="app API secret that signs webhooks (or SHOPIFY_WEBHOOK_SECRET)")
        parser.add_argument("--api-version", default="", help="Admin API version, e.g. 2025-01")
        parser.add_argument("--api-base-url", default="", help="override of https://<shop>/admin/api/<version> (proxies, tests)")
        parser.add_argument("--skip-check", action="store_true",
                            help="save without first asking Shopify whether the token opens the shop (offline setups)")

    def handle(self, *args, **opts):
        try:
            store = stores.get_store(opts["store"])
            connection = connections.connect_shop(
                store, shop_domain=opts["shop_domain"], access_token=opts["access_token"], webhook_secret=opts["webhook_secret"],
                api_version=opts["api_version"], api_base_url=opts["api_base_url"], verify=not opts["skip_check"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.field}: {exc.message}" if exc.field else exc.message) from exc
        self.stdout.write(f"store {store.slug} connected to {connection.shop_domain} (Admin API {connection.api_version})")
        self.stdout.write(f"webhook address: <your public URL>{reverse('shopify_webhook', args=[store.slug])}")
        self.stdout.write(f"topics: {', '.join(processing.TOPICS)}")
