"""Background tasks of the Shopify connector (named domain.action)."""
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from textpilot.integrations.shopify import backfill, processing


# Retries wait 15 s, 60 s, then 4 min: long enough for an order to arrive before its shipment.
@db_task(name="shopify.process_webhook", retries=3, retry_delay=15, retry_backoff=4)
def process_shopify_webhook(delivery_id: int) -> str | None:
    return processing.process_delivery(delivery_id)


# A retried backfill resumes from its last saved cursor.
@db_task(name="shopify.run_backfill", retries=3, retry_delay=60, retry_backoff=2)
def run_shopify_backfill(job_id: int) -> None:
    backfill.run_backfill(job_id)


@db_periodic_task(crontab(minute="*/5"), name="shopify.requeue_webhooks")
def requeue_shopify_webhooks() -> int:
    """Deliveries left pending (queue down when they arrived, worker killed mid-task)."""
    ids = processing.stale_pending_ids()
    for delivery_id in ids:
        process_shopify_webhook(delivery_id)
    return len(ids)
