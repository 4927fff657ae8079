"""Kannel's webhooks read into our records: the receiving half of KannelProvider (a mixin).
The generic view in delivery/webhooks.py serves them, GET as Kannel calls them (POST too):

/webhooks/kannel/<store>/status?mid=<message id>&status=%d&answer=%A&fid=%F&token=<webhook_token>
    (the dlr-url the provider builds; /dlr and /receipt are the same URL)
/webhooks/kannel/<store>/inbound?from=%p&to=%P&text=%a&charset=%C&id=%I&token=<webhook_token>

Kannel can't sign requests: both carry the sender's secret `webhook_token`, and the caller
must be within the sender's `allowed_ips` when that is set. The inbound answer is an empty
body: Kannel would send a non-empty one back to the customer as a text."""
from __future__ import annotations

import codecs
import hmac
import ipaddress
from urllib.parse import unquote_to_bytes

from textpilot.delivery.models import Status
from textpilot.delivery.providers.base import (
    INBOUND, RECEIPT, InboundText, Receipt, WebhookMalformed, WebhookRefused, our_number, webhook_message_id,
    webhook_phone,
)
from textpilot.common.http import client_ip

# Kannel receipt type -> our status. Buffered (4) and the SMSC's ack (8) mean the operator has
# it: "sent", which changes nothing for a text already sent (the receipt is still kept) but
# settles one left `unknown` by a timed-out call. Statuses only move up, so a late ack or
# buffered notice never undoes "delivered".
DLR_STATUS = {1: Status.DELIVERED, 2: Status.UNDELIVERED, 4: Status.SENT, 8: Status.SENT, 16: Status.FAILED}
MAX_ANSWER_CHARS = 500


def provider_message_id(message_id: int) -> str:
    """Kannel assigns no id we could ask about later: ours stands in for it."""
    return f"kannel-{message_id}"


def allowed_networks(value) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """"127.0.0.1, 10.0.0.0/8" -> networks; ValueError names a bad entry."""
    networks = []
    for entry in str(value or "").replace(";", ",").split(","):
        if entry.strip():
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{entry.strip()!r} is not an IP address or network") from None
    return networks


class KannelWebhooks:
    """Mixed into KannelProvider: `self.credentials` and `self.options` are one sender's."""

    webhook_kinds = frozenset({RECEIPT, INBOUND})
    webhook_methods = ("GET", "POST")

    def verify_webhook(self, request, kind: str) -> None:
        token, expected = _param(request, "token"), self.credentials.get("webhook_token", "")
        if not token or not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise WebhookRefused("missing or wrong token", reason="missing token" if not token else "wrong token")
        remote = client_ip(request)
        if not _ip_allowed(remote, self.options.get("allowed_ips")):
            raise WebhookRefused("address not in allowed_ips", authenticated=True, remote=remote)

    def parse_receipts(self, request) -> list[Receipt]:
        raw_mid, raw_status = _param(request, "mid"), _param(request, "status")
        message_id = webhook_message_id(raw_mid)
        kannel_status = int(raw_status) if raw_status.isascii() and raw_status.isdigit() else None
        if kannel_status not in DLR_STATUS:
            raise WebhookMalformed(f"status must be one of {sorted(DLR_STATUS)} (Kannel's %d)", field="status")
        answer = _param(request, "answer")[:MAX_ANSWER_CHARS]
        status = DLR_STATUS[kannel_status]
        failed = status in (Status.UNDELIVERED, Status.FAILED)
        return [Receipt(
            status=status, provider_message_id=provider_message_id(message_id), message_id=message_id,
            error_code=str(kannel_status) if failed else "", reason=f"kannel: {answer or 'no answer'}" if failed else "",
            raw={"mid": raw_mid, "status": kannel_status, "answer": answer, "smsc_message_id": _param(request, "fid")[:100]},
        )]

    def parse_inbound(self, request, region: str | None = None) -> list[InboundText]:
        from_phone = _param(request, "from")
        text = _inbound_text(request)
        if not from_phone:
            raise WebhookMalformed("from is missing (Kannel's %p)", field="from")
        if text is None:
            raise WebhookMalformed("text is missing (Kannel's %a)", field="text")
        return [InboundText(from_phone=webhook_phone(from_phone, "from", region), to_phone=our_number(_param(request, "to"), region),
                            body=text, provider_message_id=_param(request, "id") or None)]

    def webhook_response(self, kind: str, messages: list):
        if kind != INBOUND:
            return None
        from django.http import HttpResponse

        return HttpResponse(b"", content_type="text/plain")


def _ip_allowed(remote: str, allowed_ips) -> bool:
    try:
        networks = allowed_networks(allowed_ips)
    except ValueError:  # validated when saved; a broken value refuses rather than opens
        return False
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _inbound_text(request) -> str | None:
    """The text as the customer wrote it. Kannel's %a hands over the message's own bytes
    url-encoded: UTF-8 for GSM texts, but UTF-16BE for UCS-2 ones (emoji, Arabic…), which
    `%C` names in `charset`; those are decoded from the raw query string here."""
    charset = _param(request, "charset")
    if not charset or charset.replace("-", "").upper() == "UTF8" or request.method != "GET":
        return request.GET.get("text", request.POST.get("text"))
    unknown = WebhookMalformed(f"charset {charset!r} is unknown (Kannel's %C)", field="charset")
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        raise unknown from None
    for pair in request.META.get("QUERY_STRING", "").split("&"):
        name, _, value = pair.partition("=")
        if name == "text":
            # The WSGI query string is bytes read as latin-1: take them back, then decode them.
            try:
                raw = unquote_to_bytes(value.encode("latin-1").replace(b"+", b" "))
            except UnicodeEncodeError:  # a character no WSGI server hands over: not Kannel's bytes
                raise WebhookMalformed("text is not url-encoded bytes (Kannel's %a)", field="text") from None
            try:
                return raw.decode(codec, errors="replace")
            except LookupError:  # a codec that isn't a text encoding (base64, rot13…)
                raise unknown from None
    return None


def _param(request, name: str) -> str:
    return (request.GET.get(name) or request.POST.get(name) or "").strip()
