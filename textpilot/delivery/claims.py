"""Database side of dispatch: claiming due messages with a lease, recording what providers
said, and recovering messages whose worker died. Synchronous; the dispatcher runs these in
threads. Every write that ends a claim checks the lease is still ours, so a worker that
lost its lease (it hung past the expiry) can't overwrite what another one recorded."""
from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from textpilot.delivery import gate
from textpilot.delivery.models import ComplianceSettings, DeliveryAttempt, Direction, Kind, Message, Status
from textpilot.delivery.providers.base import Outcome, SendResult

LEASE_SECONDS = 60
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 600.0
# Marketing "already sent" for smart sending / Florida counts: anything handed to a provider.
_HANDED_OVER = (Status.SENDING, Status.UNKNOWN, Status.SENT, Status.DELIVERED, Status.UNDELIVERED)


def new_lease_token(owner: str) -> str:
    return f"{owner}:{uuid.uuid4().hex[:12]}"


def claim_due(sender_id: int, limit: int, owner: str, now: dt.datetime | None = None) -> tuple[str, list[Message]]:
    """Lease up to `limit` due queued messages of one sender, most urgent first. Two
    dispatchers never get the same message: PostgreSQL skips rows locked by another
    claim; SQLite runs the whole UPDATE under its single write lock."""
    now = now or timezone.now()
    token = new_lease_token(owner)
    expires = now + dt.timedelta(seconds=LEASE_SECONDS)
    table = Message._meta.db_table
    due = ("status = %s AND sender_id = %s AND send_after <= %s AND (lease_expires_at IS NULL OR lease_expires_at < %s)")
    # Raw SQL needs the backend's own datetime format (SQLite compares them as text).
    db_now, db_expires = (connection.ops.adapt_datetimefield_value(value) for value in (now, expires))
    params = [Status.QUEUED, sender_id, db_now, db_now]
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (f"UPDATE {table} SET lease_owner = %s, lease_expires_at = %s WHERE id IN ("
           f"SELECT id FROM {table} WHERE {due} ORDER BY priority, send_after, id LIMIT %s{lock})")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [token, db_expires, *params, limit])
        if cursor.rowcount == 0:
            return token, []
    claimed = list(Message.objects.filter(lease_owner=token, status=Status.QUEUED).select_related("profile", "store")
                   .order_by("priority", "send_after", "id"))
    return token, claimed


def release(token: str, message_ids: list[int]) -> None:
    Message.objects.filter(pk__in=message_ids, lease_owner=token).update(lease_owner="", lease_expires_at=None)


# --- the gate, with the history it needs loaded for the whole batch ------------------------

def rules_for(store) -> gate.Rules:
    settings = ComplianceSettings.objects.filter(store=store).first() or ComplianceSettings(store=store)
    return gate.Rules(
        store_timezone=store.timezone or "UTC", store_country=store.country,
        quiet_start=settings.quiet_hours_start, quiet_end=settings.quiet_hours_end,
        smart_sending_hours=settings.smart_sending_hours,
        allowed_countries=frozenset(settings.allowed_countries or ()), daily_spend_cap=settings.daily_spend_cap,
    )


def gate_batch(messages: list[Message], now: dt.datetime) -> dict[int, gate.Decision]:
    """A decision for every message; the history queries are one per store per batch."""
    decisions: dict[int, gate.Decision] = {}
    by_store: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_store[message.store_id].append(message)
    for store_messages in by_store.values():
        store = store_messages[0].store
        rules = rules_for(store)
        marketing_profiles = [m.profile_id for m in store_messages if m.kind == Kind.MARKETING and m.profile_id]
        last_marketing, count_24h = _marketing_history(store.pk, marketing_profiles, now)
        spend_today = _spend_today(store, rules, now) if rules.daily_spend_cap is not None else Decimal("0")
        for message in store_messages:
            profile = message.profile
            recipient = gate.Recipient(
                phone=message.to_phone, sms_status=getattr(profile, "sms_status", "never"),
                timezone=getattr(profile, "timezone", "") or "",
            )
            history = gate.History(
                last_marketing_at=last_marketing.get(message.profile_id), marketing_last_24h=count_24h.get(message.profile_id, 0),
                store_spend_today=spend_today,
            )
            decision = gate.decide(kind=message.kind, origin=message.origin, cost=message.estimated_cost,
                                   recipient=recipient, rules=rules, history=history, now=now)
            decisions[message.pk] = decision
            if decision.action == gate.SEND:
                spend_today += message.estimated_cost or Decimal("0")
                if message.kind == Kind.MARKETING:
                    # Two marketing texts for one person in the same batch: the second waits for smart sending.
                    last_marketing[message.profile_id] = now
                    count_24h[message.profile_id] = count_24h.get(message.profile_id, 0) + 1
    return decisions


def _marketing_history(store_id: int, profile_ids: list[int], now: dt.datetime) -> tuple[dict, dict]:
    if not profile_ids:
        return {}, {}
    rows = (Message.objects.filter(store_id=store_id, profile_id__in=profile_ids, direction=Direction.OUTBOUND,
                                   kind=Kind.MARKETING, status__in=_HANDED_OVER, sent_at__gte=now - dt.timedelta(hours=168))
            .values("profile_id")
            .annotate(last=Max("sent_at"), day=Count("id", filter=Q(sent_at__gte=now - dt.timedelta(hours=24)))))
    last = {row["profile_id"]: row["last"] for row in rows}
    day = {row["profile_id"]: row["day"] for row in rows}
    return last, day


def _spend_today(store, rules: gate.Rules, now: dt.datetime) -> Decimal:
    since = gate.local_day_start(now, rules.store_timezone)
    total = (Message.objects.filter(store=store, direction=Direction.OUTBOUND, status__in=_HANDED_OVER, sent_at__gte=since)
             .aggregate(total=Sum("estimated_cost"))["total"])
    return total or Decimal("0")


def apply_gate(token: str, messages: list[Message], decisions: dict[int, gate.Decision], now: dt.datetime) -> list[Message]:
    """Suppress or defer what the gate stopped; mark the rest `sending` (committed before any
    provider call, so a crash afterwards is visible) and return them."""
    to_send = []
    with transaction.atomic():
        for message in messages:
            decision = decisions[message.pk]
            if decision.action == gate.SUPPRESS:
                Message.objects.filter(pk=message.pk, lease_owner=token).update(
                    status=Status.SUPPRESSED, status_reason=decision.reason[:255], status_at=now, lease_owner="",
                    lease_expires_at=None)
            elif decision.action == gate.DEFER:
                Message.objects.filter(pk=message.pk, lease_owner=token).update(
                    send_after=decision.until, status_reason=decision.reason[:255], lease_owner="", lease_expires_at=None)
            else:
                to_send.append(message)
        if to_send:
            ids = [m.pk for m in to_send]
            updated = Message.objects.filter(pk__in=ids, lease_owner=token, status=Status.QUEUED).update(
                status=Status.SENDING, status_at=now, status_reason="")
            if updated != len(ids):  # lost the lease in between: send only what is still ours
                still = set(Message.objects.filter(pk__in=ids, lease_owner=token, status=Status.SENDING).values_list("pk", flat=True))
                to_send = [m for m in to_send if m.pk in still]
            for message in to_send:
                message.attempts += 1
            Message.objects.filter(pk__in=[m.pk for m in to_send]).update(attempts=F("attempts") + 1)
    return to_send


def record_results(token: str, messages: dict[int, Message], results: list[SendResult], provider: str,
                   now: dt.datetime | None = None) -> dict[str, int]:
    """Write each provider answer: sent, retry later, failed, or unknown (reconciled by receipts)."""
    now = now or timezone.now()
    counts: dict[str, int] = defaultdict(int)
    attempts = []
    opt_outs = []
    with transaction.atomic():
        for result in results:
            message = messages[result.message_id]
            counts[result.outcome.value] += 1
            attempts.append(DeliveryAttempt(
                store_id=message.store_id, message_id=message.pk, provider=provider, outcome=result.outcome.value,
                request=result.request, response=result.response, error=result.error[:2000], latency_ms=result.latency_ms,
                started_at=now,
            ))
            mine = Message.objects.filter(pk=message.pk, lease_owner=token, status=Status.SENDING)
            if result.outcome == Outcome.ACCEPTED:
                mine.update(status=Status.SENT, status_at=now, sent_at=now, provider=provider,
                            provider_message_id=result.provider_message_id, lease_owner="", lease_expires_at=None)
            elif result.outcome == Outcome.TRANSIENT and message.attempts < MAX_ATTEMPTS:
                mine.update(status=Status.QUEUED, send_after=now + dt.timedelta(seconds=backoff_seconds(message.attempts, result.retry_after_s)),
                            status_reason=f"retrying: {result.error}"[:255], lease_owner="", lease_expires_at=None)
            elif result.outcome == Outcome.UNKNOWN:
                mine.update(status=Status.UNKNOWN, status_at=now, sent_at=now, provider=provider,
                            status_reason=f"unknown: {result.error}; waiting for a receipt"[:255], lease_owner="", lease_expires_at=None)
            else:
                reason = result.error if result.outcome == Outcome.PERMANENT else f"gave up after {message.attempts} attempts: {result.error}"
                mine.update(status=Status.FAILED, status_at=now, status_reason=reason[:255], error_code=result.error_code[:32],
                            lease_owner="", lease_expires_at=None)
                if result.carrier_opt_out and message.profile_id:
                    opt_outs.append((message, result.error_code))
        DeliveryAttempt.objects.bulk_create(attempts, batch_size=500)
    for message, error_code in opt_outs:
        from textpilot.delivery import service

        # The error code comes from the result: the in-memory message never saw the update above.
        service.record_carrier_opt_out(message.store, message.profile, provider, error_code or "carrier")
    return dict(counts)


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's Retry-After wins when longer."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempt - 1)))
    wait = random.uniform(ceiling / 2, ceiling)
    return max(wait, retry_after or 0.0)


# --- recovery: messages whose worker died -------------------------------------------------

def expired_sending(limit: int = 500, now: dt.datetime | None = None) -> list[Message]:
    """Messages marked `sending` whose lease ran out: their worker died or hung mid-call."""
    now = now or timezone.now()
    return list(Message.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
                .select_related("sender", "store").order_by("lease_expires_at")[:limit])


def resolve_orphan(message: Message, *, found: bool | None, provider_message_id: str | None = None,
                   owner: str = "recovery", now: dt.datetime | None = None) -> str:
    """found=True: the provider has it (mark sent); False: it never arrived (queue again);
    None: nobody can tell (mark unknown; a receipt will settle it). Never a blind resend."""
    now = now or timezone.now()
    stale = Message.objects.filter(pk=message.pk, status=Status.SENDING, lease_owner=message.lease_owner)
    if found is True:
        stale.update(status=Status.SENT, status_at=now, sent_at=now, provider_message_id=provider_message_id,
                     lease_owner="", lease_expires_at=None, status_reason="recovered: the provider had it")
        return Status.SENT
    if found is False:
        stale.update(status=Status.QUEUED, lease_owner="", lease_expires_at=None,
                     status_reason="recovered: the provider never got it; sending again")
        return Status.QUEUED
    stale.update(status=Status.UNKNOWN, status_at=now, lease_owner="", lease_expires_at=None,
                 status_reason="unknown: the worker stopped mid-call; waiting for a receipt")
    return Status.UNKNOWN
