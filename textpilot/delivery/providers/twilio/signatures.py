"""Which store a Twilio webhook is for, and whether Twilio really signed it.

`X-Twilio-Signature` is base64(HMAC-SHA1(auth token, URL + sorted form params)), checked with
the twilio package's own RequestValidator. The URL must be the one Twilio called:

  * TEXTPILOT_PUBLIC_URL set (production, behind a proxy or tunnel): that base + the request
    path and query string as they reached Django, e.g.
    https://sms.example.com/webhooks/twilio/acme/status?mid=42. It is also the base the
    dispatcher puts in StatusCallback, so both sides agree by construction.
  * unset: `request.build_absolute_uri()`: scheme and host as Django sees them, so a proxy
    must pass them on (USE_X_FORWARDED_HOST / SECURE_PROXY_SSL_HEADER) or every signature fails.

The validator tries the URL with and without the default port, as Twilio signs either way.
"""
from __future__ import annotations

import dataclasses

import structlog
from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

from textpilot.common.errors import NotFound
from textpilot.delivery import service
from textpilot.delivery.models import Sender
from textpilot.stores import service as stores
from textpilot.stores.models import Store

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclasses.dataclass
class Verdict:
    store: Store | None = None
    sender: Sender | None = None
    refusal_status: int = 0  # 404 / 403 when refused
    refusal_detail: str = ""

    @property
    def ok(self) -> bool:
        return self.refusal_status == 0


def public_url(request: HttpRequest) -> str:
    base = (getattr(settings, "TEXTPILOT_PUBLIC_URL", "") or "").rstrip("/")
    if base:
        # path_info, not path: a base URL with a path prefix already carries the script prefix.
        return base + request.get_full_path_info()
    return request.build_absolute_uri()


def verify(request: HttpRequest, store_slug: str, *, endpoint: str, our_number: str) -> Verdict:
    """Find the store and the Twilio sender whose auth token signed this request.

    A store may have several Twilio senders (accounts): the one whose number is `our_number`
    (From of a status callback, To of an inbound text) is tried first, then every other."""
    try:
        store = stores.get_store(store_slug)
    except NotFound:
        return Verdict(refusal_status=404, refusal_detail="no such store")
    senders = list(Sender.objects.filter(store=store, provider="twilio").order_by("id"))
    if not senders:
        return Verdict(refusal_status=404, refusal_detail="this store has no Twilio sender")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = public_url(request)
    if signature:
        senders.sort(key=lambda s: s.from_number != our_number)
        tried: set[str] = set()
        for sender in senders:
            token = (service.sender_credentials(sender).get("auth_token") or "").strip()
            if not token or token in tried:
                continue
            tried.add(token)
            if RequestValidator(token).validate(url, request.POST, signature):
                return Verdict(store=store, sender=sender)
    reason = "invalid" if signature else "missing"
    # Twilio never sends a bad signature: this is a misconfigured public URL, a rotated token or a forgery.
    log.warning("twilio.webhook.signature_refused", store=store.slug, endpoint=endpoint, reason=reason, url=url,
                senders=len(senders), remote_addr=request.META.get("REMOTE_ADDR", ""))
    return Verdict(store=store, refusal_status=403, refusal_detail=f"{reason} {SIGNATURE_HEADER} signature")
