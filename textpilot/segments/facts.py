"""What the in-memory matcher knows about a profile: `load_facts(store, profile_ids, now)`
reads it for many profiles at once, one query per kind of fact (profiles, customer stats,
orders, order lines, checkouts, opt-in evidence, texts, clicks, events), never one per
profile. Pass `needs` (a checked definition's `needs()`) to read only what it looks at; events
are then read only for the event names it counts.

The facts are the same rows the compiler's SQL reads, so matcher and compiler agree by
construction where they can and by test where they must (tests/segments). Rules shared with
the SQL (fields.py):
- customer stats: the row in the store's currency, missing = no orders (zeros);
- orders: every order of the profile, newest first (placed_at, then id), with whether it
  counts (commerce.stats.counted_orders_q) and the platform ids of its products;
- opt-in evidence: SMS `subscribed` consent events of the profile and of profiles merged
  into it, up to MERGE_DEPTH merges deep (evidence stays on the tombstone it was given for).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from django.db.models import Q

from textpilot.commerce.models import COUNTED_PAYMENT_STATUSES, Checkout, CustomerStats, Order, OrderLine
from textpilot.delivery.models import Direction, Message, Status
from textpilot.events.models import Event
from textpilot.messaging.models import ShortLink
from textpilot.profiles.models import ConsentEvent, ConsentStatus, Profile
from textpilot.segments.context import EvalContext
from textpilot.segments.nodes import Needs
PROFILE_COLUMNS = ("country", "city", "gender", "language", "timezone", "source", "created_at", "properties",
                   "latitude", "longitude", "sms_status", "sms_status_at", "phone", "merged_into_id", "erased_at")
STATS_COLUMNS = ("orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at")
MERGE_DEPTH = 3  # opt-in evidence of tombstones merged into a profile, this many merges deep
RECEIVED = (Status.SENT, Status.DELIVERED)  # an outbound text that reached the carrier or the phone


@dataclass(frozen=True)
class OrderFact:
    id: int
    placed_at: dt.datetime
    total: Decimal
    currency: str
    counted: bool
    payment_status: str
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MessageFact:
    direction: str
    status: str
    sent_at: dt.datetime | None
    created_at: dt.datetime
    has_media: bool


@dataclass
class ProfileFacts:
    profile_id: int
    ctx: EvalContext
    live: bool = False
    profile: dict = field(default_factory=dict)
    stats: dict | None = None  # {} when the profile has no stats row (no orders)
    orders: list[OrderFact] | None = None
    checkouts: list[tuple[str, dt.datetime, Decimal, str]] | None = None
    opt_ins: list[tuple[str, str]] | None = None
    messages: list[MessageFact] | None = None
    clicks: list[dt.datetime | None] | None = None
    events: list[tuple[str, dt.datetime, Any]] | None = None

    def need(self, kind: str):
        value = getattr(self, kind)
        if value is None:
            raise LookupError(f"the {kind} facts of profile {self.profile_id} were not loaded")
        return value


def load_facts(store, profile_ids: Iterable[int], now: dt.datetime | None = None, needs: Needs | None = None,
               ctx: EvalContext | None = None) -> dict[int, ProfileFacts]:
    """{profile id: ProfileFacts} for the profiles of `store` among `profile_ids` (others are
    left out: an id of another store is simply not there)."""
    ctx = ctx or EvalContext.for_store(store, now)
    needs = needs or Needs.everything()
    ids = sorted(set(profile_ids))
    facts: dict[int, ProfileFacts] = {}
    for row in Profile.objects.filter(store_id=ctx.store_id, pk__in=ids).values("pk", *PROFILE_COLUMNS):
        pk = row.pop("pk")
        facts[pk] = ProfileFacts(pk, ctx, live=row["merged_into_id"] is None and row["erased_at"] is None, profile=row)
    ids = list(facts)
    kinds = needs.kinds
    for kind, loader in (("stats", _stats), ("orders", _orders), ("checkouts", _checkouts), ("opt_ins", _opt_ins),
                         ("messages", _messages), ("clicks", _clicks), ("events", _events)):
        if kind in kinds:
            found = loader(ctx, ids, needs) if ids else {}
            for pk, item in facts.items():
                setattr(item, kind, found.get(pk, {} if kind == "stats" else []))
    return facts


def _stats(ctx, ids, needs):
    rows = CustomerStats.objects.filter(store_id=ctx.store_id, profile_id__in=ids, currency=ctx.currency)
    return {row.pop("profile_id"): row for row in rows.values("profile_id", *STATS_COLUMNS)}


def _orders(ctx, ids, needs):
    products: dict[int, list[str]] = defaultdict(list)
    lines = (OrderLine.objects.filter(store_id=ctx.store_id, order__profile_id__in=ids, product__isnull=False)
             .values_list("order_id", "product__external_id").order_by("order_id", "id"))
    for order_id, external_id in lines:
        products[order_id].append(external_id)
    found: dict[int, list[OrderFact]] = defaultdict(list)
    rows = (Order.objects.filter(store_id=ctx.store_id, profile_id__in=ids)
            .values_list("profile_id", "id", "placed_at", "total", "currency", "cancelled_at", "payment_status")
            .order_by("profile_id", "-placed_at", "-id"))
    for profile_id, pk, placed_at, total, currency, cancelled_at, payment_status in rows:
        counted = cancelled_at is None and payment_status in COUNTED_PAYMENT_STATUSES
        found[profile_id].append(OrderFact(pk, placed_at, total, currency, counted, payment_status, tuple(products.get(pk, ()))))
    return found


def _checkouts(ctx, ids, needs):
    found = defaultdict(list)
    rows = (Checkout.objects.filter(store_id=ctx.store_id, profile_id__in=ids)
            .values_list("profile_id", "status", "started_at", "total", "currency"))
    for profile_id, *rest in rows:
        found[profile_id].append(tuple(rest))
    return found


def merge_chain_q(prefix: str = "profile", outer: Any = None, depth: int = MERGE_DEPTH) -> Q:
    """Rows of the profile (`outer`, e.g. OuterRef("pk")) or of tombstones merged into it."""
    q = Q(**{prefix: outer})
    hop = prefix
    for _ in range(depth):
        hop += "__merged_into"
        q |= Q(**{hop: outer})
    return q


def _opt_ins(ctx, ids, needs):
    # Find the tombstones merged into these profiles (MERGE_DEPTH hops down), read the
    # evidence of all of them in one query, and give each row to every requested profile
    # it is at most MERGE_DEPTH merges below (itself included), as merge_chain_q does.
    requested, parent = set(ids), {}
    frontier = list(ids)
    for _ in range(MERGE_DEPTH):
        if not frontier:
            break
        rows = list(Profile.objects.filter(store_id=ctx.store_id, merged_into_id__in=frontier).values_list("pk", "merged_into_id"))
        parent.update(rows)
        frontier = [pk for pk, _ in rows]
    found = defaultdict(list)
    rows = (ConsentEvent.objects.filter(store_id=ctx.store_id, profile_id__in=sorted(requested | set(parent)),
                                        channel=ConsentEvent.Channel.SMS, status=ConsentStatus.SUBSCRIBED)
            .values_list("profile_id", "source", "keyword").order_by("id"))
    for profile_id, source, keyword in rows:
        holder = profile_id
        for _ in range(MERGE_DEPTH + 1):
            if holder in requested:
                found[holder].append((source, keyword))
            holder = parent.get(holder)
            if holder is None:
                break
    return found


def _messages(ctx, ids, needs):
    found = defaultdict(list)
    rows = (Message.objects.filter(store_id=ctx.store_id, profile_id__in=ids)
            .filter(Q(direction=Direction.INBOUND) | Q(direction=Direction.OUTBOUND, status__in=RECEIVED))
            .values_list("profile_id", "direction", "status", "sent_at", "created_at", "media_urls").order_by())
    for profile_id, direction, status, sent_at, created_at, media in rows:
        found[profile_id].append(MessageFact(direction, status, sent_at, created_at, isinstance(media, list) and len(media) > 0))
    return found


def _clicks(ctx, ids, needs):
    found = defaultdict(list)
    rows = ShortLink.objects.filter(store_id=ctx.store_id, profile_id__in=ids, click_count__gt=0).values_list("profile_id", "last_clicked_at")
    for profile_id, last_clicked_at in rows:
        found[profile_id].append(last_clicked_at)
    return found


def _events(ctx, ids, needs):
    found = defaultdict(list)
    rows = Event.objects.filter(store_id=ctx.store_id, profile_id__in=ids)
    if needs.event_names is not None:
        if not needs.event_names:
            return found
        rows = rows.filter(name__in=sorted(needs.event_names))
    for profile_id, name, occurred_at, properties in rows.values_list("profile_id", "name", "occurred_at", "properties").order_by():
        found[profile_id].append((name, occurred_at, properties))
    return found
