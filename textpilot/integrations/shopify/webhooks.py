"""POST /webhooks/shopify/<store_slug>: verify, store raw, enqueue, answer 200 fast.

Answers (Shopify retries anything but 2xx, 8 times over 4 hours):
  404  no such store, or the store has no Shopify connection
  401  missing or wrong X-Shopify-Hmac-SHA256, or signed for another shop
  400  body not a JSON object, or no topic / webhook id header
  413  body over the request size limit
  200  stored (or a duplicate webhook id, stored before; not processed again), or a topic we
       don't handle: kept as "ignored" and logged, because refusing it would only make
       Shopify retry it for hours.
Nothing is stored unless the signature is right."""
import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from textpilot.common.errors import DomainError
from textpilot.integrations.shopify.models import WebhookDelivery
from textpilot.integrations.shopify import connections, processing, signing

logger = logging.getLogger("textpilot.shopify")


def _refuse(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


@csrf_exempt
@require_POST
def shopify_webhook(request, store_slug: str):
    connection = connections.connection_for_slug(store_slug)
    if connection is None:  # no such store, or it has no Shopify connection
        return _refuse(404, "no Shopify shop is connected at this address")
    store = connection.store
    try:
        body = request.body
    except RequestDataTooBig:
        return _refuse(413, "request body is too large")
    if not signing.is_valid(connections.webhook_secret(connection), body, request.headers.get("X-Shopify-Hmac-Sha256")):
        logger.info("shopify webhook signature refused", extra={"store": store.slug})
        return _refuse(401, "missing or invalid X-Shopify-Hmac-SHA256 signature")
    shop = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    if shop and shop != connection.shop_domain:
        # One app secret signs the webhooks of every shop that installed the app.
        return _refuse(401, f"webhook is for {shop}, not the shop connected here")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _refuse(400, "body is not valid JSON")
    if not isinstance(payload, dict):
        return _refuse(400, "body must be a JSON object")
    try:
        delivery, created = processing.accept_delivery(
            store, topic=request.headers.get("X-Shopify-Topic", ""), webhook_id=request.headers.get("X-Shopify-Webhook-Id", ""),
            payload=payload,
        )
    except DomainError as exc:
        return _refuse(400, f"{exc.field}: {exc.message}")
    if created and delivery.status == WebhookDelivery.Status.PENDING:
        processing.enqueue(delivery.pk)
    return JsonResponse({"delivery_id": delivery.pk, "status": delivery.status, "duplicate": not created})
