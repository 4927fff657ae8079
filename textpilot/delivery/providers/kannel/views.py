"""Kannel webhooks (GET, as Kannel calls them; POST accepted too):

/webhooks/kannel/<store>/dlr?mid=<message id>&status=%d&answer=%A&fid=%F&token=<webhook_token>
/webhooks/kannel/<store>/inbound?from=%p&to=%P&text=%a&charset=%C&id=%I&token=<webhook_token>

404 unknown store (or no Kannel sender); 403 missing or wrong token, or a caller outside the
sender's `allowed_ips` (logged); 400 malformed (field named), nothing changed; 200 otherwise.
The inbound answer is an empty body: Kannel would send a non-empty one back to the customer
as a text."""
from __future__ import annotations

import codecs
import hmac
import ipaddress
from urllib.parse import unquote_to_bytes

import structlog
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from textpilot.common.errors import DomainError
from textpilot.delivery import inbound, service
from textpilot.delivery.models import Status
from textpilot.delivery.providers.kannel.provider import allowed_networks, provider_message_id
from textpilot.common.http import client_ip
from textpilot.stores.models import Store

log = structlog.get_logger(__name__)

# Kannel receipt type -> our status. Buffered (4) and the SMSC's ack (8) mean the operator has
# it: "sent", which changes nothing for a text already sent (the receipt is still kept) but
# settles one left `unknown` by a timed-out call. Statuses only move up, so a late ack or
# buffered notice never undoes "delivered".
DLR_STATUS = {1: Status.DELIVERED, 2: Status.UNDELIVERED, 4: Status.SENT, 8: Status.SENT, 16: Status.FAILED}


def _store_and_check(request, store_slug: str, endpoint: str):
    """(store, None) when the token matches one of the store's Kannel senders and the caller is
    within that sender's `allowed_ips`, else (None, the answer to give)."""
    store = Store.objects.filter(slug=store_slug).first()
    senders = list(service.list_senders(store).filter(provider="kannel")) if store else []
    if not senders:
        return None, JsonResponse({"detail": "no such store"}, status=404)
    token, remote = request.GET.get("token") or request.POST.get("token") or "", client_ip(request)
    reason = "missing token" if not token else "wrong token"
    for sender in senders:
        expected = service.sender_credentials(sender).get("webhook_token", "")
        if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
            if _ip_allowed(remote, sender.options.get("allowed_ips")):
                return store, None
            reason = "address not in allowed_ips"
    log.warning("kannel.webhook.refused", endpoint=endpoint, store=store.slug, remote=remote, reason=reason)
    return None, JsonResponse({"detail": "missing or wrong token" if "token" in reason else reason}, status=403)


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
    try:
        codec = codecs.lookup(charset).name
    except LookupError:
        raise ValueError(f"charset {charset!r} is unknown (Kannel's %C)") from None
    for pair in request.META.get("QUERY_STRING", "").split("&"):
        name, _, value = pair.partition("=")
        if name == "text":
            # The WSGI query string is bytes read as latin-1: take them back, then decode them.
            raw = unquote_to_bytes(value.encode("latin-1").replace(b"+", b" "))
            return raw.decode(codec, errors="replace")
    return None


def _param(request, name: str) -> str:
    return (request.GET.get(name) or request.POST.get(name) or "").strip()


@csrf_exempt
@require_http_methods(["GET", "POST"])
def delivery_report(request, store_slug: str):
    store, refused = _store_and_check(request, store_slug, "dlr")
    if refused:
        return refused
    raw_mid, raw_status = _param(request, "mid"), _param(request, "status")
    if not raw_mid.isdigit():
        return JsonResponse({"detail": "mid must be our message id"}, status=400)
    if not raw_status.isdigit() or int(raw_status) not in DLR_STATUS:
        return JsonResponse({"detail": f"status must be one of {sorted(DLR_STATUS)} (Kannel's %d)"}, status=400)
    kannel_status, answer = int(raw_status), _param(request, "answer")[:500]
    status = DLR_STATUS[kannel_status]
    failed = status in (Status.UNDELIVERED, Status.FAILED)
    message = service.apply_delivery_report(
        store, provider="kannel", message_id=int(raw_mid), provider_message_id=provider_message_id(int(raw_mid)),
        status=status, error_code=str(kannel_status) if failed else "",
        reason=f"kannel: {answer or 'no answer'}" if failed else "",
        raw={"mid": raw_mid, "status": kannel_status, "answer": answer, "smsc_message_id": _param(request, "fid")[:100]},
    )
    if message is None:
        return JsonResponse({"detail": "no such message in this store"}, status=404)
    return JsonResponse({"message_id": message.pk, "status": message.status})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound_message(request, store_slug: str):
    store, refused = _store_and_check(request, store_slug, "inbound")
    if refused:
        return refused
    sender_phone, to_phone = _param(request, "from"), _param(request, "to")
    try:
        text = _inbound_text(request)
    except ValueError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    if not sender_phone:
        return JsonResponse({"detail": "from is missing (Kannel's %p)"}, status=400)
    if text is None:
        return JsonResponse({"detail": "text is missing (Kannel's %a)"}, status=400)
    try:
        with transaction.atomic():
            inbound.receive_inbound(store, from_phone=sender_phone, to_phone=to_phone, body=text, provider="kannel",
                                    provider_message_id=_param(request, "id") or None)
    except DomainError as exc:
        return JsonResponse({"detail": f"{exc.field}: {exc.message}"}, status=400)
    return HttpResponse(b"", content_type="text/plain")
