"""The compliance gate with what it needs from the database: the store's rules and each
recipient's recent marketing, loaded once per batch when a batch is claimed
(`gate_batch`), and the last look immediately before each provider call
(`recheck_before_call`), which reads the recipients again so a STOP that arrived while the
batch waited for its turn holds the text back. `gate.decide` stays pure; this module feeds it."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from textpilot.delivery import claims, gate, spend
from textpilot.delivery.claims import HANDED_OVER
from textpilot.delivery.models import ComplianceSettings, Direction, Kind, Message, Status
from textpilot.profiles import service as profiles


def rules_for(store) -> gate.Rules:
    settings = ComplianceSettings.objects.filter(store=store).first() or ComplianceSettings(store=store)
    return gate.Rules(
        store_timezone=store.timezone or "UTC", store_country=store.country,
        quiet_start=settings.quiet_hours_start, quiet_end=settings.quiet_hours_end,
        smart_sending_hours=settings.smart_sending_hours,
        allowed_countries=frozenset(settings.allowed_countries or ()), daily_spend_cap=settings.daily_spend_cap,
    )


def gate_batch(messages: list[Message], now: dt.datetime, checks: dict | None = None) -> dict[int, gate.Decision]:
    """A decision for every message; the history queries are one per store per batch (today's
    spend is one read of the store's counter, delivery.spend). With `checks`, each message's
    rules, history and recipient are kept there, so `recheck_before_call` and the spend
    check when marking `sending` can decide again without loading them a second time."""
    decisions: dict[int, gate.Decision] = {}
    by_store: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_store[message.store_id].append(message)
    for store_messages in by_store.values():
        store = store_messages[0].store
        rules = rules_for(store)
        marketing_profiles = [m.profile_id for m in store_messages if m.kind == Kind.MARKETING and m.profile_id]
        last_marketing, count_24h = _marketing_history(store.pk, marketing_profiles, now)
        spend_today = spend.spent_on(store.pk, spend.local_day(now, rules.store_timezone)) \
            if rules.daily_spend_cap is not None else Decimal("0")
        for message in store_messages:
            profile = message.profile
            recipient = recipient_of(message.to_phone, profile)
            history = gate.History(
                last_marketing_at=last_marketing.get(message.profile_id), marketing_last_24h=count_24h.get(message.profile_id, 0),
                store_spend_today=spend_today,
            )
            decision = gate.decide(kind=message.kind, origin=message.origin, cost=message.estimated_cost,
                                   recipient=recipient, rules=rules, history=history, now=now)
            decisions[message.pk] = decision
            if checks is not None:
                checks[message.pk] = (rules, history, recipient)
            if decision.action == gate.SEND:
                spend_today += message.estimated_cost or Decimal("0")
                if message.kind == Kind.MARKETING:
                    # Two marketing texts for one person in the same batch: the second waits for smart sending.
                    last_marketing[message.profile_id] = now
                    count_24h[message.profile_id] = count_24h.get(message.profile_id, 0) + 1
    return decisions


def _marketing_history(store_id: int, profile_ids: list[int], now: dt.datetime) -> tuple[dict, dict]:
    """(last marketing text, marketing texts in 24 h) per profile, counting texts in flight too."""
    last, day = {}, {}
    for profile_id, texts in _recent_marketing(store_id, profile_ids, now).items():
        last[profile_id] = max(at for _, _, at in texts)
        day[profile_id] = sum(1 for _, _, at in texts if at >= now - dt.timedelta(hours=24))
    return last, day


def _recent_marketing(store_id: int, profile_ids, now: dt.datetime) -> dict[int, list[tuple[int, str, dt.datetime]]]:
    """Marketing texts handed over (or being handed over) to these profiles in the last week:
    {profile id: [(message id, status, when)]}. A text still `sending` has no sent_at yet and
    counts from when it was marked sending, so a lane pacing one out is seen by the others."""
    found: dict[int, list] = defaultdict(list)
    if not profile_ids:
        return found
    rows = (Message.objects.filter(store_id=store_id, profile_id__in=list(profile_ids), direction=Direction.OUTBOUND,
                                   kind=Kind.MARKETING, status__in=HANDED_OVER)
            .annotate(at=Coalesce("sent_at", "status_at")).filter(at__gte=now - dt.timedelta(hours=168))
            .values_list("profile_id", "id", "status", "at"))
    for profile_id, pk, status, at in rows:
        found[profile_id].append((pk, status, at))
    return found


def _history_at_call(message: Message, batch: gate.History, recent: dict, now: dt.datetime) -> gate.History:
    """The batch's history of a marketing text, updated with what other lanes and dispatchers
    handed over since. Two texts for one person in flight at once: only the older one counts
    against the other, so exactly one of them goes."""
    others = [at for pk, status, at in recent.get(message.profile_id, ())
              if pk != message.pk and (status != Status.SENDING or pk < message.pk)]
    if not others:
        return batch
    last = max(others) if batch.last_marketing_at is None else max(batch.last_marketing_at, *others)
    day = max(batch.marketing_last_24h, sum(1 for at in others if at >= now - dt.timedelta(hours=24)))
    return dataclasses.replace(batch, last_marketing_at=last, marketing_last_24h=day)


def recheck_before_call(token: str, messages: list[Message], checks: dict, now: dt.datetime | None = None) -> set[int]:
    """The gate once more, immediately before the provider call, with each recipient's
    consent as committed right now: a STOP that arrived while the batch waited for its turn
    holds the text back, and so does a marketing text another lane or dispatcher handed the
    same person meanwhile (smart sending, 24-hour caps). Rules are the batch's
    (`gate_batch(checks=…)`); recipients are read again (one primary-key query) and, when the
    call carries marketing, their recent marketing (one indexed query). Held texts are
    suppressed or deferred (their lease released); returns their ids."""
    now = now or timezone.now()
    profile_ids = {m.profile_id for m in messages if m.profile_id}
    fresh = profiles.sms_states(profile_ids)
    marketing = [m for m in messages if m.kind == Kind.MARKETING and m.profile_id]
    recent = _recent_marketing(marketing[0].store_id, {m.profile_id for m in marketing}, now) if marketing else {}
    held: dict[int, gate.Decision] = {}
    for message in messages:
        rules, history, _ = checks[message.pk]
        if message.kind == Kind.MARKETING:
            history = _history_at_call(message, history, recent, now)
        recipient = recipient_of(message.to_phone, fresh.get(message.profile_id))
        decision = gate.decide(kind=message.kind, origin=message.origin, cost=message.estimated_cost,
                               recipient=recipient, rules=rules, history=history, now=now)
        if decision.action != gate.SEND:
            held[message.pk] = decision
    if held:
        with transaction.atomic():
            claims.hold(token, held, now, Status.SENDING, give_back_attempt=True)
    return set(held)


def recipient_of(phone: str, profile) -> gate.Recipient:
    """The gate's view of a recipient: the profile's profiles.RECIPIENT_FIELDS (a Profile or
    the last look's fresh read); no profile means never subscribed."""
    status, zone, region, country = (getattr(profile, name, "") or "" for name in profiles.RECIPIENT_FIELDS)
    return gate.Recipient(phone=phone, sms_status=status or "never", timezone=zone, region=region, address_country=country)
