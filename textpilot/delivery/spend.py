"""What each store spends per day, as a counter row (`DailySpend`, one per store and local
date) kept in the same transactions that change the texts' state, so the daily spend cap
costs the gate one indexed read per batch. Before, the gate summed the day's handed-over
texts once per claimed batch: an aggregate that grew with every batch of a campaign.

A text in `sending` holds a reservation of its estimated cost:
- marked `sending` (claims.apply_gate): the cost is added (`reserve`). With a cap set, the
  row is locked and the batch is checked against its fresh value before the add, so lanes
  and dispatchers running at once cannot overshoot the cap together (before, each batch
  only saw what was already recorded, and several could overshoot it by a batch each);
- `sent` or `unknown` (the provider has it, or may have it): the cost stays;
- back to `queued`, or `suppressed`/`failed` without reaching the provider (held at the
  last look, a transient or permanent error, a crash where the provider never got it):
  the cost is given back (`give_back`) in the transaction that records that.
The day is the store's local date when the text was marked sending (its `status_at`). A
receipt that later reports `failed` leaves the cost counted: the provider may have charged.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Greatest

from textpilot.delivery import gate
from textpilot.delivery.models import DailySpend

ZERO = Decimal("0")
_CENTS = Decimal("0.00001")  # the counter's decimal places


def local_day(moment: dt.datetime, zone_name: str) -> dt.date:
    """The store's local date at `moment` (the gate's day: gate.local_day_start)."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone_name or "UTC")).date()


def spent_on(store_id: int, day: dt.date) -> Decimal:
    """The store's spend on that local day: one read of a unique key."""
    spent = DailySpend.objects.filter(store_id=store_id, day=day).values_list("spent", flat=True).first()
    return spent if spent is not None else ZERO


def _add(store_id: int, day: dt.date, amount: Decimal) -> Decimal:
    """Add `amount` to the day's counter (creating it) and return the new value: one
    INSERT … ON CONFLICT DO UPDATE … RETURNING (PostgreSQL; SQLite ≥ 3.35). On PostgreSQL
    the row stays locked until the caller's transaction ends; SQLite holds its write lock."""
    quote = connection.ops.quote_name
    table = quote(DailySpend._meta.db_table)
    store, day_col, spent = (quote(name) for name in ("store_id", "day", "spent"))
    sql = (f"INSERT INTO {table} ({store}, {day_col}, {spent}) VALUES (%s, %s, %s) "
           f"ON CONFLICT ({store}, {day_col}) DO UPDATE SET {spent} = {table}.{spent} + excluded.{spent} "
           f"RETURNING {spent}")
    value = connection.ops.adapt_decimalfield_value(amount, 16, 5)
    with connection.cursor() as cursor:
        cursor.execute(sql, [store_id, connection.ops.adapt_datefield_value(day), value])
        total = cursor.fetchone()[0]
    # SQLite hands back a float (numeric affinity); the column keeps five decimal places.
    return Decimal(str(total)).quantize(_CENTS)


def reserve(messages: list, now: dt.datetime, checks: dict | None = None) -> dict[int, gate.Decision]:
    """Count the cost of texts just marked `sending` (inside that transaction): one upsert per
    store. With the gate's `checks` (gating.gate_batch: rules, history and recipient per
    text) and a cap set, the batch is re-checked against the counter as it is now, locked:
    texts that no longer fit are returned with the gate's spend-cap decision (the caller
    holds them, which gives their cost back) — the gate saw the counter before other
    batches added theirs."""
    by_store: dict[int, list] = defaultdict(list)
    for message in messages:
        by_store[message.store_id].append(message)
    over: dict[int, gate.Decision] = {}
    for store_id, texts in by_store.items():
        day = local_day(now, texts[0].store.timezone)
        total = sum((m.estimated_cost or ZERO for m in texts), ZERO)
        rules = checks[texts[0].pk][0] if checks else None
        capped = rules is not None and rules.daily_spend_cap is not None
        if not (total or capped):
            continue
        # The whole batch is added at once (the row stays locked until commit); what no
        # longer fits is given back when the caller holds it.
        running = _add(store_id, day, total) - total  # what others had spent: the fresh value
        if not capped:
            continue
        for message in texts:
            cost = message.estimated_cost
            if cost is not None and message.origin != "keyword_reply" and running + cost > rules.daily_spend_cap:
                decision = _decide_again(message, checks[message.pk], running, now)
                if decision.action != gate.SEND:
                    over[message.pk] = decision
                    continue
            running += cost or ZERO
    return over


def _decide_again(message, check, spent: Decimal, now: dt.datetime) -> gate.Decision:
    """The gate's decision with today's spend as it is now (only the spend changed since)."""
    rules, history, recipient = check
    return gate.decide(kind=message.kind, origin=message.origin, cost=message.estimated_cost, recipient=recipient,
                       rules=rules, history=dataclasses.replace(history, store_spend_today=spent), now=now)


def give_back(rows: Iterable[tuple[int, str, Decimal | None, dt.datetime]]) -> None:
    """Return the reservations of texts that left `sending` without reaching the provider:
    rows of (store id, store time zone, estimated cost, when it was marked sending)."""
    amounts: dict[tuple[int, dt.date], Decimal] = defaultdict(lambda: ZERO)
    for store_id, zone, cost, marked_at in rows:
        if cost:
            amounts[(store_id, local_day(marked_at, zone))] += cost
    for (store_id, day), amount in amounts.items():
        # Never below zero, whatever happened in between (the store's time zone changed
        # while the text was in flight, so its day is not the one it was counted on).
        DailySpend.objects.filter(store_id=store_id, day=day).update(spent=Greatest(F("spent") - amount, Value(ZERO)))
