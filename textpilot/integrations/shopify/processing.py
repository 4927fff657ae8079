"""Stored webhook deliveries -> their topic's handler, with status, errors and retries.

A delivery is stored first (accept_delivery, in the web request) and processed by the
worker (process_delivery). Processing is idempotent and order-independent, so a delivery
processed twice, or after a newer one for the same object, changes nothing. Outcomes:
processed; ignored (older than the stored state, or a topic we don't handle); failed (the
error is kept, the task retries with backoff, and the owner can retry it from the
dashboard). A shipment that arrives before its order fails until the order comes, and is
then replayed by the order's processing."""
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from textpilot.common.errors import FieldError, NotFound
from textpilot.common.tasks import enqueue_task
from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.integrations.shopify import connections, mapping, privacy
from textpilot.stores.models import Store

logger = logging.getLogger("textpilot.shopify")

SOURCE = "shopify"
Status = WebhookDelivery.Status


def _order(ctx, payload, delivery_id):
    return mapping.apply_order(ctx, payload)


def _fulfillment(ctx, payload, delivery_id):
    return mapping.apply_fulfillment(ctx, payload)


def _customer(ctx, payload, delivery_id):
    return mapping.apply_customer(ctx, payload)[1]


def _checkout(ctx, payload, delivery_id):
    return mapping.apply_checkout(ctx, payload)


def _product(ctx, payload, delivery_id):
    return mapping.apply_product(ctx, payload)


def _data_request(ctx, payload, delivery_id):
    return privacy.data_request(ctx, payload)


HANDLERS = {
    "customers/create": _customer,
    "customers/update": _customer,
    "orders/create": _order,
    "orders/paid": _order,
    "orders/updated": _order,
    "orders/fulfilled": _order,
    "orders/cancelled": _order,
    "fulfillments/create": _fulfillment,
    "fulfillments/update": _fulfillment,
    "checkouts/create": _checkout,
    "checkouts/update": _checkout,
    "products/create": _product,
    "products/update": _product,
    "customers/data_request": _data_request,
    "customers/redact": privacy.redact_customer,
    "shop/redact": privacy.redact_shop,
}
TOPICS = tuple(HANDLERS)
# Two workers may insert the same new object at once; the loser retries and finds it.
INSERT_RACE_ATTEMPTS = 3
# Long enough that a backlog in the queue is not mistaken for a lost delivery (processing
# twice is harmless, only wasted work).
STALE_PENDING_AFTER = timedelta(minutes=30)


def accept_delivery(store: Store, *, topic: str, webhook_id: str, payload: dict) -> tuple[WebhookDelivery, bool]:
    """Store a verified webhook once per webhook id; returns (delivery, created). Topics we
    don't handle are kept as ignored (visible in webhook health) and never processed."""
    topic, webhook_id = (topic or "").strip()[:64], (webhook_id or "").strip()[:128]
    if not topic:
        raise FieldError("the webhook names no topic", field="X-Shopify-Topic")
    if not webhook_id:
        raise FieldError("the webhook has no id", field="X-Shopify-Webhook-Id")
    handled = topic in HANDLERS
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                store=store, source=SOURCE, topic=topic, webhook_id=webhook_id, payload=payload,
                status=Status.PENDING if handled else Status.IGNORED, error="" if handled else f"topic {topic} is not handled",
            )
    except IntegrityError:
        return WebhookDelivery.objects.get(store=store, source=SOURCE, webhook_id=webhook_id), False
    if not handled:
        logger.info("shopify webhook topic ignored", extra={"store": store.slug, "topic": topic})
    return delivery, True


def enqueue(delivery_id: int) -> None:
    """Hand a delivery to the worker. If the queue is down the delivery stays pending and the
    periodic sweep (shopify.requeue_webhooks) picks it up, so the webhook is still answered 200."""
    try:
        enqueue_task("shopify.process_webhook", delivery_id)
    except Exception:
        logger.exception("could not enqueue shopify webhook", extra={"delivery_id": delivery_id})


def context_for(store: Store, event_source: str = SOURCE) -> mapping.ShopContext:
    connection = connections.get_connection(store)
    return mapping.ShopContext(store=store, shop_domain=connection.shop_domain if connection else "", event_source=event_source)


def process_delivery(delivery_id: int) -> str | None:
    """Run a delivery's handler; returns its final status. A failure is recorded first; then
    a bad payload (FieldError) returns "failed", anything else raises so the queue retries."""
    delivery = WebhookDelivery.objects.select_related("store").filter(pk=delivery_id).first()
    if delivery is None or delivery.status in (Status.PROCESSED, Status.IGNORED):
        return delivery.status if delivery else None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    handler = HANDLERS.get(delivery.topic)
    ctx = context_for(delivery.store)
    try:
        for attempt in range(INSERT_RACE_ATTEMPTS):
            try:
                with transaction.atomic():
                    applied = handler(ctx, delivery.payload, delivery.pk) if handler else False
                    status = Status.PROCESSED if applied else Status.IGNORED
                    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status, error="", processed_at=timezone.now())
                break
            except IntegrityError:
                if attempt == INSERT_RACE_ATTEMPTS - 1:
                    raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"[:2000]
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.FAILED, error=error)
        log = logger.info if isinstance(exc, NotFound) else logger.warning
        log("shopify webhook failed", extra={"store": delivery.store.slug, "delivery_id": delivery.pk, "topic": delivery.topic, "error": error})
        if isinstance(exc, FieldError):
            return Status.FAILED  # the payload itself is bad: retrying cannot fix it
        raise  # the queue retries: the order may arrive, the database may come back
    if status == Status.PROCESSED and delivery.topic.startswith("orders/"):
        for waiting_id in waiting_shipments(delivery.store, mapping.shopify_id(delivery.payload.get("id"))):
            enqueue(waiting_id)
    return status


def waiting_shipments(store: Store, order_id: str) -> list[int]:
    """Shipment deliveries that failed because this order had not arrived yet."""
    if not order_id.isdigit():
        return []
    return list(
        WebhookDelivery.objects.filter(
            store=store, source=SOURCE, topic__startswith="fulfillments/", status=Status.FAILED, payload__order_id=int(order_id)
        ).values_list("pk", flat=True)
    )


def retry_delivery(store: Store, delivery_id: int) -> WebhookDelivery:
    """Owner asked to retry a failed delivery: back to pending (the caller enqueues it)."""
    delivery = WebhookDelivery.objects.filter(store=store, source=SOURCE, pk=delivery_id).first()
    if delivery is None:
        raise NotFound("no such webhook delivery in this store", field="delivery_id")
    if delivery.status != Status.FAILED:
        raise FieldError("only a failed delivery can be retried", field="delivery_id")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.PENDING)
    delivery.status = Status.PENDING
    return delivery


def stale_pending_ids(now=None, older_than: timedelta = STALE_PENDING_AFTER, limit: int = 1000) -> list[int]:
    """Deliveries still pending long after they arrived (queue was down, worker was killed)."""
    cutoff = (now or timezone.now()) - older_than
    return list(
        WebhookDelivery.objects.filter(source=SOURCE, status=Status.PENDING, received_at__lt=cutoff)
        .order_by("received_at").values_list("pk", flat=True)[:limit]
    )


def delivery_health(store: Store, hours: int = 24, recent: int = 25) -> dict:
    since = timezone.now() - timedelta(hours=hours)
    deliveries = WebhookDelivery.objects.filter(store=store, source=SOURCE)
    by_status = dict(deliveries.filter(received_at__gte=since).values("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "hours": hours,
        "counts": {status: by_status.get(status, 0) for status in Status.values},
        "total": sum(by_status.values()),
        "last_received_at": deliveries.aggregate(last=Max("received_at"))["last"],
        "recent": list(deliveries.order_by("-received_at", "-id")[:recent]),
        "data_requests": list(deliveries.filter(topic="customers/data_request").order_by("-received_at")[:10]),
    }
