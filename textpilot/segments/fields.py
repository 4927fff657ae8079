"""The one registry of segment fields (docs/segment-definitions.md): for each field, its
operators, its value kind, how it compiles to an ORM expression over a store's live
profiles, and how it is read from a profile's facts in memory (the kinds: field_types.py,
profile_fields.py, row_fields.py).
Validation, the compiler, the matcher, explain and the JSON Schema all read this table; there
is no second one.

A field whose data textpilot does not have yet stays in the table with `unavailable` set:
validation refuses it with that reason (a 422), so a merchant never gets a segment that
silently matches nobody, and the field lights up when its data lands.

Sources (docs/decisions.md, "Segment definitions"):
- profile.*: the profile row; text compares ASCII-case-insensitively.
- sms.status / sms.subscribed_at: the consent state on the profile (subscribed_at is when the
  current subscription began; none when not subscribed).
- sms.source / sms.keyword: the SMS opt-in evidence (ConsentEvent, status subscribed) of the
  profile and of profiles merged into it: "joined via X at some time".
- orders.count / total_spent / average_value / first_at / last_at / days_since_last: the
  customer stats row (counted orders in the store's currency); with within_days or between,
  the same rule over the orders placed in the window.
- orders.product: bought (a line of a counted order, in the window) a product whose platform
  id (Product.external_id, the id storefront events carry) is given.
- orders.last_payment_status: of the latest order, whatever its state.
- checkouts.abandoned: an abandoned (not recovered) checkout started in the window; with a
  value, one whose total (store currency) passes.
- messages.received / received_media: an outbound text (with media) that was sent or
  delivered in the window (sent_at); messages.replied: a text from them (created_at);
  messages.clicked: a tracked link of theirs clicked, last click in the window.
"""
from __future__ import annotations

import re

from django.db.models import OuterRef, Subquery

from textpilot.commerce.models import Checkout, CustomerStats, Order, OrderLine, PaymentStatus
from textpilot.commerce.stats import counted_orders_q
from textpilot.delivery.models import Direction, Message
from textpilot.messaging.models import ShortLink
from textpilot.profiles.models import ConsentEvent, ConsentStatus, Gender
from textpilot.segments import facts as facts_module
from textpilot.segments.field_types import (CODE_OPS, NUMBER_OPS, PRESENCE_OPS, TEXT_OPS, TIME_OPS, Field, Unavailable, in_window,
                                            window_q)
from textpilot.segments.profile_fields import JsonProperty, LocationWithin, PhoneCountryCode, ProfileColumn
from textpilot.segments.row_fields import AnyRow, DaysSince, LatestOrderValue, OneRowPerProfile, OrderAggregate
from textpilot.segments.json_sql import JsonArrayNotEmpty

PROPERTY_PREFIX = "profile.properties."
# Property keys: letters (any script), digits, space, _ - . :, up to 64; no quote or backslash
# (they would need escaping inside SQLite's JSON path) and nothing invisible.
PROPERTY_KEY_RE = re.compile(r"^[^\W][\w .:\-]{0,63}$")
SMS_STATUSES = tuple(status.value for status in (ConsentStatus.SUBSCRIBED, ConsentStatus.UNSUBSCRIBED, ConsentStatus.NEVER,
                                                  ConsentStatus.PENDING))


def _profile(name, label, operators, kind, column, **options):
    return ProfileColumn(name, label, operators, kind=kind, column=column, **options)


def _stats_rows(ctx):
    return CustomerStats.objects.filter(store_id=ctx.store_id, profile=OuterRef("pk"), currency=ctx.currency)


def _stats_read(column):
    return lambda facts: (facts.need("stats") or {}).get(column)


def _stats(name, label, operators, kind, column, default, **options):
    return OneRowPerProfile(name, label, operators, kind=kind, column=column, default=default, rows=_stats_rows,
                            read=_stats_read(column), needs=frozenset({"stats"}), **options)


def _window_orders(ctx, window):
    return Order.objects.filter(counted_orders_q(), window_q(window, ctx, "placed_at"), store_id=ctx.store_id,
                                profile=OuterRef("pk"), currency=ctx.currency)


def _orders(name, label, operators, kind, column, default, measure, **options):
    return OrderAggregate(name, label, operators, kind=kind, measure=measure, orders=_window_orders,
                          stats=_stats(name, label, operators, kind, column, default), **options)


# --- rows of a profile (AnyRow sources) ----------------------------------------------------

def _opt_in_rows(ctx, window, valued):
    return ConsentEvent.objects.filter(facts_module.merge_chain_q("profile", OuterRef("pk")), store_id=ctx.store_id,
                                       channel=ConsentEvent.Channel.SMS, status=ConsentStatus.SUBSCRIBED)


def _opt_in_facts(index):
    return lambda facts, window, valued: [row[index] for row in facts.need("opt_ins")]


def _product_rows(ctx, window, valued):
    return OrderLine.objects.filter(counted_orders_q("order__"), window_q(window, ctx, "order__placed_at"), store_id=ctx.store_id,
                                    order__profile=OuterRef("pk"), product__isnull=False)


def _product_facts(facts, window, valued):
    return [product for order in facts.need("orders") if order.counted and in_window(window, facts.ctx, order.placed_at)
            for product in order.product_ids]


def _checkout_rows(ctx, window, valued):
    rows = Checkout.objects.filter(window_q(window, ctx, "started_at"), store_id=ctx.store_id, profile=OuterRef("pk"),
                                   status=Checkout.Status.ABANDONED)
    return rows.filter(currency=ctx.currency) if valued else rows


def _checkout_facts(facts, window, valued):
    return [total for status, started_at, total, currency in facts.need("checkouts")
            if status == Checkout.Status.ABANDONED and in_window(window, facts.ctx, started_at)
            and (not valued or currency == facts.ctx.currency)]


def _received_rows(media):
    def rows(ctx, window, valued):
        found = Message.objects.filter(window_q(window, ctx, "sent_at"), store_id=ctx.store_id, profile=OuterRef("pk"),
                                       direction=Direction.OUTBOUND, status__in=facts_module.RECEIVED)
        return found.filter(JsonArrayNotEmpty("media_urls")) if media else found
    return rows


def _received_facts(media):
    def read(facts, window, valued):
        return [message.sent_at for message in facts.need("messages")
                if message.direction == Direction.OUTBOUND and message.status in facts_module.RECEIVED
                and (message.has_media or not media) and in_window(window, facts.ctx, message.sent_at)]
    return read


def _replied_rows(ctx, window, valued):
    return Message.objects.filter(window_q(window, ctx, "created_at"), store_id=ctx.store_id, profile=OuterRef("pk"),
                                  direction=Direction.INBOUND)


def _replied_facts(facts, window, valued):
    return [message.created_at for message in facts.need("messages")
            if message.direction == Direction.INBOUND and in_window(window, facts.ctx, message.created_at)]


def _clicked_rows(ctx, window, valued):
    return ShortLink.objects.filter(window_q(window, ctx, "last_clicked_at"), store_id=ctx.store_id, profile=OuterRef("pk"),
                                    click_count__gt=0)


def _clicked_facts(facts, window, valued):
    return [at for at in facts.need("clicks") if in_window(window, facts.ctx, at)]


def _flag(name, label, rows, read, needs, **options):
    return AnyRow(name, label, PRESENCE_OPS, kind="flag", rows=rows, column=None, facts=read,
                  needs=frozenset({needs}), windowed=True, **options)


def _latest_status():
    return Subquery(Order.objects.filter(profile=OuterRef("pk")).order_by("-placed_at", "-id").values("payment_status")[:1])


def _subscribed_at():
    from django.db.models import Case, DateTimeField, F, When

    return Case(When(sms_status=ConsentStatus.SUBSCRIBED, then=F("sms_status_at")), default=None, output_field=DateTimeField())


NOT_PREDICTED = "is not available yet: the nightly purchase model (predicted CLV, next order, churn risk) has not run for this store"

FIELDS: dict[str, Field] = {field.name: field for field in (
    _profile("profile.country", "Country", CODE_OPS, "code", "country", help="ISO 3166 code, e.g. US"),
    _profile("profile.city", "City", TEXT_OPS, "text", "city"),
    _profile("profile.gender", "Gender", CODE_OPS, "choice", "gender", choices=tuple(c for c in Gender.values if c)),
    _profile("profile.language", "Language", TEXT_OPS, "code", "language", help="e.g. en, es, fr-CA"),
    _profile("profile.timezone", "Time zone", CODE_OPS, "code", "timezone"),
    _profile("profile.source", "Source", TEXT_OPS, "text", "source"),
    _profile("profile.created_at", "Became a profile", TIME_OPS, "time", "created_at"),
    PhoneCountryCode("phone.country_code", "Phone country code", CODE_OPS, help="the calling code: 1, 44, …"),
    LocationWithin("location.within", "Lives within", ("eq", "neq"),
                   help='{"lat": …, "lon": …, "radius_km": …}; eq: within, neq: not within (or no location)'),
    _profile("sms.status", "SMS status", ("eq", "neq", "in", "not_in"), "choice", "sms_status", choices=SMS_STATUSES),
    ProfileColumn("sms.subscribed_at", "Subscribed to SMS", TIME_OPS, kind="time", column="sms_status_at",
                  sql_value=_subscribed_at,
                  read=lambda p: p.get("sms_status_at") if p.get("sms_status") == ConsentStatus.SUBSCRIBED else None),
    AnyRow("sms.source", "Joined SMS via", TEXT_OPS, kind="text", rows=_opt_in_rows, column="source",
           facts=_opt_in_facts(0), needs=frozenset({"opt_ins"}), help="popup, keyword, checkout, import, …"),
    AnyRow("sms.keyword", "Joined SMS with keyword", CODE_OPS, kind="code", rows=_opt_in_rows, column="keyword",
           facts=_opt_in_facts(1), needs=frozenset({"opt_ins"}),
           help="case-insensitive; a keyword's alternate spellings count once keywords have them"),
    _orders("orders.count", "Number of orders", NUMBER_OPS, "count", "orders_count", 0, "count"),
    _orders("orders.total_spent", "Total spent", NUMBER_OPS, "money", "total_spent", 0, "spent", help="store currency"),
    _orders("orders.average_value", "Average order value", NUMBER_OPS, "money", "average_order_value", 0, "average"),
    _orders("orders.first_at", "First order", TIME_OPS, "time", "first_order_at", None, "first"),
    _orders("orders.last_at", "Last order", TIME_OPS, "time", "last_order_at", None, "last"),
    DaysSince("orders.days_since_last", "Days since last order", NUMBER_OPS, kind="count", column="last_order_at", default=None,
              rows=_stats_rows, read=_stats_read("last_order_at"), needs=frozenset({"stats"})),
    LatestOrderValue("orders.last_payment_status", "Payment status of the latest order", CODE_OPS, kind="choice",
                     sql_value=_latest_status, read=lambda order: order.payment_status, choices=tuple(PaymentStatus.values)),
    AnyRow("orders.product", "Bought product", ("eq", "neq", "in", "not_in"), kind="id", rows=_product_rows,
           column="product__external_id", facts=_product_facts, needs=frozenset({"orders"}), windowed=True,
           help="product ids as the store platform knows them"),
    Unavailable("orders.collection", "Bought from collection", ("in", "not_in"), windowed=True,
                unavailable="is not available yet: textpilot does not import product collections"),
    AnyRow("checkouts.abandoned", "Abandoned a checkout", (*PRESENCE_OPS, "gt", "gte", "lt", "lte", "between"), kind="money",
           rows=_checkout_rows, column="total", facts=_checkout_facts, needs=frozenset({"checkouts"}), windowed=True,
           help="with a value: a checkout whose total (store currency) passes"),
    _flag("messages.received", "Received a text", _received_rows(False), _received_facts(False), "messages"),
    _flag("messages.received_media", "Received an MMS", _received_rows(True), _received_facts(True), "messages"),
    _flag("messages.replied", "Texted back", _replied_rows, _replied_facts, "messages"),
    _flag("messages.clicked", "Clicked a link in a text", _clicked_rows, _clicked_facts, "clicks"),
    Unavailable("predicted.clv", "Predicted lifetime value", NUMBER_OPS, unavailable=NOT_PREDICTED),
    Unavailable("predicted.next_order_at", "Predicted next order", TIME_OPS, unavailable=NOT_PREDICTED),
    Unavailable("predicted.churn_risk", "Churn risk", NUMBER_OPS, unavailable=NOT_PREDICTED),
    Field("segment.member", "Member of segment", ("eq", "neq"), help='{"segment_id": n}; eq: in it, neq: not in it'),
)}


def field_named(name: str) -> Field | None:
    """The field of that name; `profile.properties.<key>` makes one per key. None if unknown
    (including a property key that cannot be one: see PROPERTY_KEY_RE)."""
    if name in FIELDS:
        return FIELDS[name]
    if name.startswith(PROPERTY_PREFIX):
        key = name[len(PROPERTY_PREFIX):]
        if PROPERTY_KEY_RE.match(key) and key == key.strip():
            return JsonProperty(key)
    return None


def registry_description() -> list[dict]:
    """Every field with its operators and value kind, for the JSON Schema and the builder."""
    described = [field.describe() for field in FIELDS.values()]
    described.append({**JsonProperty("key").describe(), "name": PROPERTY_PREFIX + "<key>", "label": "Custom property"})
    return described
