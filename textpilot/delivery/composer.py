"""The rules a text is queued by, whichever way it is asked for: `service.send_message` (one
text) and `bulk_enqueue` (a campaign's million) both call these, so there is one rule set,
tested once (tests/delivery/test_send_message.py, tests/delivery/test_bulk_enqueue.py).

- `check_request(...)`: what the caller asks must make sense (kind, origin, body, media, the
  structured origin, the idempotency key): a FieldError naming the field, before anything.
- `choose_sender(store, sender)`: the sender asked for (never another store's), else the default.
- `recipient_problem(store, profile)`: a profile that can't be texted (another store's, no
  phone). send_message refuses it; bulk enqueue skips it and counts it.
- `Composer(store, request, sender)`: everything the same for every recipient, worked out
  once: the template is compiled (a syntax error is the caller's mistake and raised here),
  the sender chosen, where short links live, the price per destination. `compose(phone,
  context)` then renders one recipient's text and says how it will be stored: queued with
  its encoding, segments and cost, or failed with the reason (a template that fails for this
  recipient, an empty text, no sender). Marketing links are shortened here, before counting,
  so the segments and cost are those of what is really sent.

What is not decided at enqueue time, on purpose: consent, quiet hours, frequency caps, the
spend cap and the sending window are the gate's (delivery/gate.py), applied by the
dispatcher at the last moment before each provider call, so a STOP that arrives after a
campaign was queued still wins. `send_after` is only the earliest time the caller wants.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from textpilot.common.errors import DomainError, FieldError, NotFound
from textpilot.delivery.models import (
    PRIORITY_MARKETING, PRIORITY_REPLY, PRIORITY_TRANSACTIONAL, Direction, Kind, Origin, Sender, Status,
)
from textpilot.messaging import links
from textpilot.messaging.encoding import count_segments
from textpilot.messaging.merge_context import build_context
from textpilot.messaging.pricing import price_table
from textpilot.messaging.templates import TemplateRenderError, compile_template
from textpilot.common.phones import phone_region
from textpilot.stores.models import Store

MAX_MEDIA = 10
MAX_ORIGIN_KEY = 200
MAX_VARIANT = 16
DEFAULT_PRIORITY = {Origin.KEYWORD_REPLY: PRIORITY_REPLY, Origin.INBOX: PRIORITY_REPLY}
NO_SENDER = "no sender: add a sender in Settings → Senders"


@dataclass(frozen=True)
class SendRequest:
    """What is asked, checked: the same for every recipient of one send."""

    body: str
    kind: str
    origin: str
    origin_id: int | None
    variant: str
    media_urls: tuple[str, ...]
    priority: int
    render: bool


def check_request(*, body, kind: str = Kind.TRANSACTIONAL, origin: str = Origin.API, origin_id=None, variant: str = "",
                  media_urls: Sequence[str] = (), priority: int | None = None, render: bool = True) -> SendRequest:
    if kind not in Kind.values:
        raise FieldError(f"kind must be one of {', '.join(Kind.values)}", field="kind")
    if origin not in Origin.values or origin == Origin.INBOUND:
        raise FieldError(f"origin must be one of {', '.join(o for o in Origin.values if o != Origin.INBOUND)}", field="origin")
    if not isinstance(body, str) or not body.strip():
        raise FieldError("the message body is empty", field="body")
    media = tuple(str(url).strip() for url in media_urls or ())
    if len(media) > MAX_MEDIA or any(not url.startswith(("https://", "http://")) for url in media):
        raise FieldError(f"media_urls takes at most {MAX_MEDIA} http(s) URLs", field="media_urls")
    if origin_id is not None and (isinstance(origin_id, bool) or not isinstance(origin_id, int) or origin_id < 0):
        raise FieldError("origin_id must be the id (a whole number) of the campaign, flow step… that sends it", field="origin_id")
    if not isinstance(variant, str) or len(variant.strip()) > MAX_VARIANT:
        raise FieldError(f"variant must be a label of at most {MAX_VARIANT} characters", field="variant")
    if priority is None:
        priority = DEFAULT_PRIORITY.get(origin, PRIORITY_MARKETING if kind == Kind.MARKETING else PRIORITY_TRANSACTIONAL)
    return SendRequest(body, kind, origin, origin_id, variant.strip(), media, priority, render)


def clean_origin_key(origin_key) -> str | None:
    """The idempotency key as stored: trimmed, at most 200 characters, None when empty."""
    if origin_key is None:
        return None
    return str(origin_key).strip()[:MAX_ORIGIN_KEY] or None


def recipient_problem(store: Store, profile) -> DomainError | None:
    """Why this profile can't be sent a text, or None. `profile` is a Profile or anything
    with its store_id and phone."""
    if profile.store_id != store.pk:
        return NotFound("no such profile in this store", field="profile_id")
    if not profile.phone:
        return FieldError("this profile has no phone number", field="profile_id")
    return None


def render_context(store: Store, profile, extra: Mapping | None) -> dict:
    """The merge context of one recipient; an unknown extra is the caller's mistake."""
    try:
        return build_context(store, profile, extra)
    except ValueError as exc:
        raise FieldError(str(exc), field="context") from None


def default_sender(store: Store) -> Sender | None:
    return Sender.objects.filter(store=store, active=True).order_by("-is_default", "id").first()


def choose_sender(store: Store, sender: Sender | None) -> Sender | None:
    """The sender asked for, else the store's default. Another store's sender is refused
    (404 naming sender_id): it would send with that store's number and credentials."""
    if sender is None:
        return default_sender(store)
    sender.ensure_in(store, field="sender_id")
    return sender


@dataclass(frozen=True)
class Composed:
    """One recipient's text as it will be stored. `links`: (url, code) short links to store
    once the message exists (the codes are already in `body`)."""

    body: str
    status: str
    status_reason: str = ""
    encoding: str = ""
    segments: int = 1
    estimated_cost: Decimal | None = None
    currency: str = ""
    links: tuple[tuple[str, str], ...] = ()


class Composer:
    """A send's constant part, worked out once; `compose` for each recipient."""

    def __init__(self, store: Store, request: SendRequest, sender: Sender | None):
        self.store, self.request, self.sender = store, request, sender
        # A bad template is the caller's mistake: TemplateError before anything is stored.
        self.template = compile_template(request.body) if request.render else None
        # Only marketing texts are shortened (links.py says why transactional ones aren't).
        self.link_base = links.short_link_base(store) if request.kind == Kind.MARKETING else None
        self.channel = "mms" if request.media_urls else "sms"
        self._prices: dict[str, tuple[Decimal | None, str]] = {}

    def message_fields(self, now: datetime, send_after: datetime | None = None) -> dict:
        """Columns every message of this send shares (attnames)."""
        request, sender = self.request, self.sender
        return {
            "store_id": self.store.pk, "sender_id": sender.pk if sender else None, "direction": Direction.OUTBOUND,
            "from_phone": sender.from_number if sender else "", "media_urls": list(request.media_urls),
            "kind": request.kind, "origin": request.origin, "origin_id": request.origin_id, "variant": request.variant,
            "priority": request.priority, "send_after": send_after or now, "provider": sender.provider if sender else "",
            "created_at": now, "status_at": now,
        }

    def compose(self, phone: str, context: Mapping | None, codes: Iterator[str] | None = None) -> Composed:
        """Render, shorten, count and price one recipient's text. `context` is the render
        context (merge_context.build_context); `codes` supplies short-link codes."""
        body = self.request.body
        if self.template is not None:
            try:
                text = self.template.render(context)
            except TemplateRenderError as exc:
                return Composed(body, Status.FAILED, f"template: {exc}"[:255])
        else:
            text = body
        if not text.strip():
            return Composed(body, Status.FAILED, "template: the rendered text is empty")
        if self.sender is None:
            return Composed(text, Status.FAILED, NO_SENDER)
        planned: list = []
        if self.link_base:
            text, planned = links.plan_links(text, self.link_base, codes if codes is not None else iter(links.new_codes(8)))
        count = count_segments(text)
        amount, currency = self._price(phone)
        cost = None if amount is None else (amount * count.segments if self.channel == "sms" else amount)
        return Composed(text, Status.QUEUED, "", count.encoding, count.segments, cost, currency, tuple(planned))

    def _price(self, phone: str) -> tuple[Decimal | None, str]:
        """Price of one segment (SMS) or message (MMS) to this number's country, the store's
        country when the number's is unknown."""
        region = phone_region(phone) or self.store.country
        try:
            return self._prices[region]
        except KeyError:
            price = price_table().price(region, self.channel, self.sender.provider)
            self._prices[region] = found = (price.amount, price.currency)
            return found
