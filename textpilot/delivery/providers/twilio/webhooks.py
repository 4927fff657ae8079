"""Twilio webhooks, both signed with the auth token of one of the store's Twilio senders:

POST /webhooks/twilio/<store_slug>/status[?mid=<message id>]   status callbacks (receipts)
POST /webhooks/twilio/<store_slug>/inbound                      texts customers send us

Answers:
  404  no such store, or it has no Twilio sender
  403  missing or wrong X-Twilio-Signature (logged as twilio.webhook.signature_refused)
  400  a malformed request naming the field (no MessageSid / MessageStatus, unknown status,
       bad mid, Price, NumMedia or phone number)
  405  anything but POST
  200  status: {"message_id", "status"}; inbound: empty TwiML `<Response/>`. Replies
       (STOP confirmations, HELP) go through our own pipeline, with its gate and records.
Nothing is changed unless the signature is right and the request is well formed.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import structlog
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from textpilot.common.errors import DomainError
from textpilot.delivery import inbound, service
from textpilot.delivery.models import Status
from textpilot.delivery.providers.twilio import signatures
from textpilot.delivery.providers.twilio.provider import OPT_OUT_ERROR_CODE

log = structlog.get_logger(__name__)

# Twilio's message statuses -> ours. Twilio having the text at all (queued, sending…) is our
# "sent" (handed over); that is also what settles a message left `unknown` by a lost answer.
STATUS_MAP = {
    "accepted": Status.SENT, "scheduled": Status.SENT, "queued": Status.SENT, "sending": Status.SENT,
    "sent": Status.SENT, "delivered": Status.DELIVERED, "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED, "failed": Status.FAILED, "canceled": Status.FAILED,
}
# A few common error codes, so the message list says more than a number.
ERROR_REASONS = {
    "21610": "unsubscribed recipient (replied STOP to this number)",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
}
MAX_MEDIA = 10  # Twilio forwards at most 10 attachments per inbound text
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _bad_request(endpoint: str, store, detail: str) -> JsonResponse:
    log.info("twilio.webhook.bad_request", endpoint=endpoint, store=store.slug, detail=detail)
    return JsonResponse({"detail": detail}, status=400)


def _refused(verdict: signatures.Verdict) -> JsonResponse:
    return JsonResponse({"detail": verdict.refusal_detail}, status=verdict.refusal_status)


@csrf_exempt
@require_POST
def status_callback(request, store_slug: str):
    params = request.POST
    verdict = signatures.verify(request, store_slug, endpoint="status", our_number=params.get("From", ""))
    if not verdict.ok:
        return _refused(verdict)
    store = verdict.store
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not sid or not twilio_status:
        return _bad_request("status", store, "MessageSid and MessageStatus are required")
    status = STATUS_MAP.get(twilio_status)
    if status is None:
        return _bad_request("status", store, f"MessageStatus {twilio_status!r} is not an outbound message status; "
                                             f"expected one of {', '.join(STATUS_MAP)}")
    message_id = None
    if request.GET.get("mid"):
        try:
            message_id = int(request.GET["mid"])
        except ValueError:
            return _bad_request("status", store, "mid must be a message id")
    try:
        cost = _price(params.get("Price"))
    except InvalidOperation:
        return _bad_request("status", store, f"Price {params.get('Price')!r} is not an amount")
    error_code = (params.get("ErrorCode") or "").strip()
    reason = f"twilio {error_code}: {ERROR_REASONS.get(error_code, 'see the Twilio error reference')}" if error_code else ""
    with transaction.atomic():
        message = service.apply_delivery_report(
            store, provider="twilio", status=status, provider_message_id=sid, message_id=message_id,
            error_code=error_code, reason=reason, raw=dict(params.items()), cost=cost,
        )
        if error_code == OPT_OUT_ERROR_CODE and message is not None and message.profile_id:
            service.record_carrier_opt_out(store, message.profile, "twilio", error_code)
    return JsonResponse({"message_id": getattr(message, "pk", None), "status": getattr(message, "status", None)})


def _price(value: str | None) -> Decimal | None:
    """Twilio reports what a text cost as a negative amount ("-0.00790")."""
    if value is None or not value.strip():
        return None
    amount = Decimal(value.strip())
    if not amount.is_finite():
        raise InvalidOperation(value)
    return abs(amount)


@csrf_exempt
@require_POST
def inbound_message(request, store_slug: str):
    params = request.POST
    verdict = signatures.verify(request, store_slug, endpoint="inbound", our_number=params.get("To", ""))
    if not verdict.ok:
        return _refused(verdict)
    store = verdict.store
    sid = (params.get("MessageSid") or params.get("SmsMessageSid") or "").strip()
    from_phone = (params.get("From") or "").strip()
    if not sid or not from_phone:
        return _bad_request("inbound", store, "MessageSid and From are required")
    try:
        media_count = int(params.get("NumMedia") or 0)
    except ValueError:
        media_count = -1
    if not 0 <= media_count <= MAX_MEDIA:
        return _bad_request("inbound", store, f"NumMedia must be a whole number from 0 to {MAX_MEDIA}")
    media_urls = [(params.get(f"MediaUrl{i}") or "").strip() for i in range(media_count)]
    if not all(media_urls):
        return _bad_request("inbound", store, f"NumMedia is {media_count} but MediaUrl0..MediaUrl{media_count - 1} "
                                              "are not all given")
    try:
        with transaction.atomic():  # the text and what it triggers (consent, reply), or nothing
            inbound.receive_inbound(
                store, from_phone=from_phone, to_phone=(params.get("To") or "").strip(), body=params.get("Body") or "",
                provider="twilio", provider_message_id=sid, media_urls=media_urls,
            )
    except DomainError as exc:
        return _bad_request("inbound", store, f"{exc.field}: {exc.message}" if exc.field else exc.message)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
