"""Background tasks of the events domain (named domain.action)."""
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from textpilot.commerce import checkouts
from textpilot.events.shopify import backfill, processing
from textpilot.stores.models import Store


# Retries wait 15 s, 60 s, then 4 min: long enough for an order to arrive before its shipment.
@db_task(name="events.process_shopify_webhook", retries=3, retry_delay=15, retry_backoff=4)
def process_shopify_webhook(delivery_id: int) -> str | None:
    return processing.process_delivery(delivery_id)


# A retried backfill resumes from its last saved cursor.
@db_task(name="events.run_shopify_backfill", retries=3, retry_delay=60, retry_backoff=2)
def run_shopify_backfill(job_id: int) -> None:
    backfill.run_backfill(job_id)


@db_periodic_task(crontab(minute="*/5"), name="events.requeue_shopify_webhooks")
def requeue_shopify_webhooks() -> int:
    """Deliveries left pending (queue down when they arrived, worker killed mid-task)."""
    ids = processing.stale_pending_ids()
    for delivery_id in ids:
        process_shopify_webhook(delivery_id)
    return len(ids)


@db_periodic_task(crontab(minute="*/5"), name="events.abandon_idle_checkouts")
def abandon_idle_checkouts() -> int:
    """Checkouts from Shopify webhooks become abandoned once idle (see commerce.checkouts)."""
    return sum(checkouts.abandon_idle_checkouts(store) for store in Store.objects.filter(pk__in=checkouts.stores_with_open_checkouts()))
