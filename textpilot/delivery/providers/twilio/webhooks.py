"""Twilio's webhooks read into our records: the receiving half of TwilioProvider (a mixin, so
the sending half in provider.py stays about sending). The generic view in delivery/webhooks.py
serves them:

POST /webhooks/twilio/<store_slug>/status[?mid=<message id>]   status callbacks (receipts;
                                                                 /receipt is the same URL)
POST /webhooks/twilio/<store_slug>/inbound                      texts customers send us

Both are signed with the auth token of one of the store's Twilio senders (signatures.py).
Malformed requests are refused naming the parameter: no MessageSid / MessageStatus, a status
that isn't an outbound one, a bad mid, Price, NumMedia or phone number. The inbound answer is
an empty TwiML `<Response/>`: replies (STOP confirmations, HELP) go through our own pipeline,
with its gate and records, not TwiML.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from textpilot.delivery.models import Status
from textpilot.delivery.providers.base import (
    INBOUND, RECEIPT, InboundText, Receipt, WebhookMalformed, WebhookRefused, our_number, webhook_message_id,
    webhook_phone,
)
from textpilot.delivery.providers.twilio import signatures

OPT_OUT_ERROR_CODE = "21610"  # "Attempt to send to unsubscribed recipient"
# Twilio's message statuses -> ours. Twilio having the text at all (queued, sending…) is our
# "sent" (handed over); that is also what settles a message left `unknown` by a lost answer.
STATUS_MAP = {
    "accepted": Status.SENT, "scheduled": Status.SENT, "queued": Status.SENT, "sending": Status.SENT,
    "sent": Status.SENT, "delivered": Status.DELIVERED, "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED, "failed": Status.FAILED, "canceled": Status.FAILED,
}
# A few common error codes, so the message list says more than a number.
ERROR_REASONS = {
    OPT_OUT_ERROR_CODE: "unsubscribed recipient (replied STOP to this number)",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
}
MAX_MEDIA = 10  # Twilio forwards at most 10 attachments per inbound text
MAX_PRICE = Decimal(100_000)  # Message.actual_cost holds 10 digits, 5 of them decimals
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class TwilioWebhooks:
    """Mixed into TwilioProvider: `self.credentials` is one sender's."""

    webhook_kinds = frozenset({RECEIPT, INBOUND})
    webhook_methods = ("POST",)

    def verify_webhook(self, request, kind: str) -> None:
        token = (self.credentials.get("auth_token") or "").strip()
        if not signatures.is_signed_by(request, token):
            reason = "invalid" if request.headers.get(signatures.SIGNATURE_HEADER) else "missing"
            # Twilio never sends a bad signature: a misconfigured public URL, a rotated token or a forgery.
            raise WebhookRefused(f"{reason} {signatures.SIGNATURE_HEADER} signature", url=signatures.public_url(request))

    def parse_receipts(self, request) -> list[Receipt]:
        params = request.POST
        sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
        twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
        if not sid or not twilio_status:
            raise WebhookMalformed("MessageSid and MessageStatus are required", field="MessageSid")
        status = STATUS_MAP.get(twilio_status)
        if status is None:
            raise WebhookMalformed(f"MessageStatus {twilio_status!r} is not an outbound message status; "
                                   f"expected one of {', '.join(STATUS_MAP)}", field="MessageStatus")
        message_id = webhook_message_id(request.GET["mid"]) if request.GET.get("mid") else None
        try:
            cost = _price(params.get("Price"))
        except InvalidOperation:
            raise WebhookMalformed(f"Price {params.get('Price')!r} is not an amount", field="Price") from None
        if cost is not None and cost >= MAX_PRICE:
            raise WebhookMalformed(f"Price {params.get('Price')!r} is more than a text can cost", field="Price")
        error_code = (params.get("ErrorCode") or "").strip()
        reason = f"twilio {error_code}: {ERROR_REASONS.get(error_code, 'see the Twilio error reference')}" if error_code else ""
        return [Receipt(status=status, provider_message_id=sid, message_id=message_id, error_code=error_code, reason=reason,
                        cost=cost, carrier_opt_out=error_code == OPT_OUT_ERROR_CODE, raw=dict(params.items()))]

    def parse_inbound(self, request, region: str | None = None) -> list[InboundText]:
        params = request.POST
        sid = (params.get("MessageSid") or params.get("SmsMessageSid") or "").strip()
        from_phone = (params.get("From") or "").strip()
        if not sid or not from_phone:
            raise WebhookMalformed("MessageSid and From are required", field="From" if sid else "MessageSid")
        try:
            media_count = int(params.get("NumMedia") or 0)
        except ValueError:
            media_count = -1
        if not 0 <= media_count <= MAX_MEDIA:
            raise WebhookMalformed(f"NumMedia must be a whole number from 0 to {MAX_MEDIA}", field="NumMedia")
        media_urls = tuple((params.get(f"MediaUrl{i}") or "").strip() for i in range(media_count))
        if not all(media_urls):
            raise WebhookMalformed(f"NumMedia is {media_count} but MediaUrl0..MediaUrl{media_count - 1} are not all given",
                                   field=f"MediaUrl{media_urls.index('')}")
        return [InboundText(from_phone=webhook_phone(from_phone, "from", region), to_phone=our_number(params.get("To"), region),
                            body=params.get("Body") or "", provider_message_id=sid, media_urls=media_urls)]

    def webhook_response(self, kind: str, messages: list):
        if kind != INBOUND:
            return None
        from django.http import HttpResponse

        return HttpResponse(EMPTY_TWIML, content_type="text/xml")


def _price(value: str | None) -> Decimal | None:
    """Twilio reports what a text cost as a negative amount ("-0.00790")."""
    if value is None or not value.strip():
        return None
    amount = Decimal(value.strip())
    if not amount.is_finite():
        raise InvalidOperation(value)
    return abs(amount)
