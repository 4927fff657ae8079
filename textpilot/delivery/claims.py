"""Database side of dispatch: claiming due messages with a lease, recording what providers
said, and recovering messages whose worker died. Synchronous; the dispatcher runs these in
threads. Every write that ends a claim checks the lease is still ours, so a worker that
lost its lease (it hung past the expiry) can't overwrite what another one recorded."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections import defaultdict

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Case, CharField, DateTimeField, F, Value, When
from django.utils import timezone

from textpilot.common.bulk_write import insert_rows
from textpilot.common.leasing import Leases
from textpilot.delivery import gate, spend, status_hooks
from textpilot.delivery.models import PRIORITY_REPLY, DeliveryAttempt, Message, Status
from textpilot.delivery.providers.base import Outcome, SendResult
from textpilot.stores.models import Store


def _lease_seconds() -> float:
    """How long a claim lasts (TEXTPILOT_DISPATCH_LEASE_SECONDS, default 60). A dead worker's
    messages wait this long before another one may recover them; it must stay well above the
    time one batch takes (claim, pacing, provider calls, recording)."""
    try:
        return max(1.0, float(os.environ.get("TEXTPILOT_DISPATCH_LEASE_SECONDS", "60")))
    except ValueError:
        return 60.0


LEASE_SECONDS = _lease_seconds()
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 600.0
# Marketing "already sent" for smart sending / Florida counts: anything handed to a provider.
HANDED_OVER = (Status.SENDING, Status.UNKNOWN, Status.SENT, Status.DELIVERED, Status.UNDELIVERED)


# The lease columns of a message (common/leasing.py): claimed by one dispatcher at a time.
LEASES = Leases(Message, seconds=LEASE_SECONDS)


def claim_due(sender_id: int, limit: int, owner: str, now: dt.datetime | None = None,
              max_priority: int | None = None) -> tuple[str, list[Message]]:
    """Lease up to `limit` due queued messages of one sender, most urgent first (only those
    of `max_priority` or more urgent, when given). Two dispatchers never get the same
    message (see Leases.claim)."""
    now = now or timezone.now()
    due = Message.objects.filter(status=Status.QUEUED, sender_id=sender_id, send_after__lte=now)
    if max_priority is not None:
        due = due.filter(priority__lte=max_priority)
    token, ids = LEASES.claim(due.order_by("priority", "send_after", "id"), limit=limit, owner=owner, now=now)
    if not ids:
        return token, []
    claimed = list(LEASES.held(token, ids).filter(status=Status.QUEUED).select_related("profile")
                   .only(*_CLAIMED_FIELDS).order_by("priority", "send_after", "id"))
    # One Store object per store, not one per row (a batch is nearly always one store).
    stores = {store.pk: store for store in Store.objects.filter(pk__in={m.store_id for m in claimed})}
    for message in claimed:
        message.store = stores[message.store_id]
    return token, claimed


# What the gate, the provider hand-over and the result bookkeeping read of a claimed message
# (loading only these keeps a 500-row claim cheap; anything else loads on first use).
_CLAIMED_FIELDS = (
    "id", "store_id", "profile_id", "sender_id", "direction", "kind", "origin", "estimated_cost", "to_phone", "from_phone",
    "body", "media_urls", "attempts", "priority", "send_after", "status", "lease_owner",
    "profile__id", "profile__store_id", "profile__phone", "profile__sms_status", "profile__timezone",
    "profile__region", "profile__country",
)


def release_leases(owner: str) -> int:
    """Give back what `owner` claimed but never marked `sending` (a stop cancelled the batch
    between claim and gate): due again at once, not after the lease. Texts already `sending`
    keep their lease, since the provider may have them; orphan recovery decides those. Served
    by the message_lease index (only leased rows are read)."""
    return (Message.objects.filter(status=Status.QUEUED, lease_expires_at__isnull=False, lease_owner__startswith=f"{owner}:")
            .update(lease_owner="", lease_expires_at=None))


def senders_with_urgent(now: dt.datetime | None = None, limit: int = 100) -> list[int]:
    """Senders with a keyword reply (a STOP confirmation, HELP, START) due now. Read-only and
    served by a small partial index, so the dispatcher can ask many times a second."""
    now = now or timezone.now()
    return list(Message.objects.filter(status=Status.QUEUED, priority=PRIORITY_REPLY, send_after__lte=now,
                                       sender_id__isnull=False)
                .values_list("sender_id", flat=True).distinct()[:limit])


def hold(token: str, decisions: dict[int, gate.Decision], now: dt.datetime, status: str, give_back_attempt: bool = False) -> None:
    """Suppress or defer leased messages as their decisions say: one UPDATE per kind of
    decision, not per message, and only while the lease is ours. Texts held from `sending`
    give their spend back (run inside the caller's transaction)."""
    leaving = _leaving_sending(token, decisions) if status == Status.SENDING and decisions else []
    stopped = defaultdict(list)
    suppressed: list[int] = []
    for pk, decision in decisions.items():
        stopped[(decision.action, decision.reason[:255], decision.until, decision.rule[:96])].append(pk)
    for (action, reason, until, rule), ids in stopped.items():
        mine = LEASES.held(token, ids).filter(status=status)
        if action == gate.SUPPRESS:
            LEASES.release(mine, status=Status.SUPPRESSED, status_reason=reason, hold_rule=rule, status_at=now)
            suppressed += ids
        else:  # deferred: queued again for its allowed moment; the provider was never called
            attempts = F("attempts") - 1 if give_back_attempt else F("attempts")
            LEASES.release(mine, status=Status.QUEUED, send_after=until, status_reason=reason, hold_rule=rule,
                           attempts=attempts)
    spend.give_back(leaving)
    status_hooks.announce_now_in(suppressed, Status.SUPPRESSED)


def _leaving_sending(token: str, ids) -> list[tuple]:
    """Those of `ids` still ours in `sending`, as spend.give_back wants them, locked until the
    transaction ends (so exactly the texts that do leave `sending` give their cost back)."""
    return list(LEASES.held(token, ids).filter(status=Status.SENDING).order_by().select_for_update(of=("self",))
                .values_list("store_id", "store__timezone", "estimated_cost", "status_at"))


def apply_gate(token: str, messages: list[Message], decisions: dict[int, gate.Decision], now: dt.datetime,
               checks: dict | None = None) -> list[Message]:
    """Suppress or defer what the gate stopped; mark the rest `sending` (committed before any
    provider call, so a crash afterwards is visible), count their cost in the store's daily
    spend and return them. With the gate's `checks`, texts that no longer fit under the
    daily spend cap (other batches spent meanwhile) are deferred instead (spend.reserve);
    their decisions replace the gate's in `decisions`."""
    to_send = [message for message in messages if decisions[message.pk].action == gate.SEND]
    stopped = {message.pk: decisions[message.pk] for message in messages if decisions[message.pk].action != gate.SEND}
    with transaction.atomic():
        hold(token, stopped, now, Status.QUEUED)
        if to_send:
            ids = [m.pk for m in to_send]
            # The lease starts again here: it must cover the pacing and the provider calls.
            updated = LEASES.renew(LEASES.held(token, ids).filter(status=Status.QUEUED), now=timezone.now(),
                                   status=Status.SENDING, status_at=now, status_reason="", hold_rule="",
                                   attempts=F("attempts") + 1)
            if updated != len(ids):  # lost the lease in between: send only what is still ours
                still = set(LEASES.held(token, ids).filter(status=Status.SENDING).values_list("pk", flat=True))
                to_send = [m for m in to_send if m.pk in still]
            for message in to_send:
                message.attempts += 1
            over = spend.reserve(to_send, now, checks)
            if over:
                hold(token, over, now, Status.SENDING, give_back_attempt=True)
                decisions.update(over)
                to_send = [m for m in to_send if m.pk not in over]
    return to_send


def record_results(token: str, messages: dict[int, Message], results: list[SendResult], provider: str,
                   now: dt.datetime | None = None) -> dict[str, int]:
    """Write each provider answer: sent, retry later, failed, or unknown (reconciled by
    receipts). Messages are updated in bulk per outcome (a CASE for per-message values),
    and only while the lease is still ours."""
    now = now or timezone.now()
    counts: dict[str, int] = defaultdict(int)
    attempts, opt_outs = [], []
    accepted, retry, unknown, failed = {}, {}, {}, defaultdict(list)
    released = LEASES.released()
    for result in results:
        message = messages[result.message_id]
        counts[result.outcome.value] += 1
        attempts.append((message.store_id, message.pk, provider, result.outcome.value, _json(result.request),
                         _json(result.response), result.error[:2000], result.latency_ms, now))
        if result.outcome == Outcome.ACCEPTED:
            accepted[message.pk] = result.provider_message_id
        elif result.outcome == Outcome.TRANSIENT and message.attempts < MAX_ATTEMPTS:
            retry[message.pk] = (now + dt.timedelta(seconds=backoff_seconds(message.attempts, result.retry_after_s)),
                                 f"retrying: {result.error}"[:255])
        elif result.outcome == Outcome.UNKNOWN:
            unknown[message.pk] = f"unknown: {result.error}; waiting for a receipt"[:255]
        else:
            reason = result.error if result.outcome == Outcome.PERMANENT else f"gave up after {message.attempts} attempts: {result.error}"
            failed[(reason[:255], result.error_code[:32])].append(message.pk)
            if result.carrier_opt_out and message.profile_id:
                opt_outs.append((message, result.error_code))

    def mine(ids):
        return LEASES.held(token, ids).filter(status=Status.SENDING)

    with transaction.atomic():
        # Back to the queue or failed: the provider didn't take them, their spend goes back.
        leaving = _leaving_sending(token, [*retry, *(pk for ids in failed.values() for pk in ids)]) if retry or failed else []
        for chunk in _chunks(list(accepted.items())):
            _mark_sent(token, chunk, provider, now)
        for chunk in _chunks(list(retry.items())):
            mine(pk for pk, _ in chunk).update(
                status=Status.QUEUED, send_after=_per_message([(pk, v[0]) for pk, v in chunk], DateTimeField()),
                status_reason=_per_message([(pk, v[1]) for pk, v in chunk], CharField()), **released)
        for chunk in _chunks(list(unknown.items())):
            mine(pk for pk, _ in chunk).update(status=Status.UNKNOWN, status_at=now, sent_at=now, provider=provider,
                                               status_reason=_per_message(chunk, CharField()), **released)
        for (reason, error_code), ids in failed.items():
            mine(ids).update(status=Status.FAILED, status_at=now, status_reason=reason, error_code=error_code, **released)
        insert_rows(DeliveryAttempt, _ATTEMPT_COLUMNS, attempts, json_columns=("request", "response"))
        spend.give_back(leaving)
        status_hooks.announce_now_in(accepted, Status.SENT)
        status_hooks.announce_now_in(unknown, Status.UNKNOWN)
        status_hooks.announce_now_in((pk for ids in failed.values() for pk in ids), Status.FAILED)
    for message, error_code in opt_outs:
        from textpilot.delivery import service

        # The error code comes from the result: the in-memory message never saw the update above.
        service.record_carrier_opt_out(message.store, message.profile, provider, error_code or "carrier")
    return dict(counts)


def _mark_sent(token: str, chunk: list[tuple[int, str]], provider: str, now: dt.datetime) -> None:
    """The hot path, in hand-written SQL: building a 250-branch CASE through the ORM costs
    more CPU than the database spends on the UPDATE. A VALUES list joined on id works the
    same on PostgreSQL and SQLite (≥ 3.33); both name its columns column1, column2."""
    table = Message._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(chunk))
    db_now = connection.ops.adapt_datetimefield_value(now)
    sql = (f"UPDATE {table} SET status = %s, status_at = %s, sent_at = %s, provider = %s, provider_message_id = v.column2, "
           f"lease_owner = '', lease_expires_at = NULL FROM (VALUES {values}) AS v "
           f"WHERE {table}.id = v.column1 AND {table}.lease_owner = %s AND {table}.status = %s")
    params = [Status.SENT, db_now, db_now, provider, *(x for pair in chunk for x in pair), token, Status.SENDING]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _chunks(items: list, size: int = 250):
    """Bounded statements: a CASE of 250 branches stays well inside SQLite's parameter limit."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _per_message(pairs, field) -> Case:
    """A value per message id in one UPDATE: CASE id WHEN … THEN … END."""
    return Case(*(When(pk=pk, then=Value(value, output_field=field)) for pk, value in pairs), output_field=field)


_ATTEMPT_COLUMNS = ("store_id", "message_id", "provider", "outcome", "request", "response", "error", "latency_ms", "started_at")


def _json(value) -> str:
    return json.dumps(value or {}, cls=DjangoJSONEncoder)


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a provider's Retry-After wins when longer."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempt - 1)))
    wait = random.uniform(ceiling / 2, ceiling)
    return max(wait, retry_after or 0.0)


# --- recovery: messages whose worker died -------------------------------------------------

def expired_sending(limit: int = 500, now: dt.datetime | None = None) -> list[Message]:
    """Messages marked `sending` whose lease ran out: their worker died or hung mid-call."""
    now = now or timezone.now()
    return list(LEASES.expired(Message.objects.filter(status=Status.SENDING), now)
                .select_related("sender", "store").order_by("lease_expires_at")[:limit])


def resolve_orphan(message: Message, *, found: bool | None, provider_message_id: str | None = None,
                   owner: str = "recovery", now: dt.datetime | None = None) -> str:
    """found=True: the provider has it (mark sent); False: it never arrived (queue again);
    None: nobody can tell (mark unknown; a receipt will settle it). Never a blind resend."""
    now = now or timezone.now()
    stale = LEASES.held(message.lease_owner, [message.pk]).filter(status=Status.SENDING)
    if found is True:
        with transaction.atomic():
            LEASES.release(stale, status=Status.SENT, status_at=now, sent_at=now, provider_message_id=provider_message_id,
                           status_reason="recovered: the provider had it")
            status_hooks.announce_now_in([message.pk], Status.SENT)
        return Status.SENT
    if found is False:
        with transaction.atomic():
            leaving = _leaving_sending(message.lease_owner, [message.pk])
            LEASES.release(stale, status=Status.QUEUED, status_reason="recovered: the provider never got it; sending again")
            spend.give_back(leaving)
        return Status.QUEUED
    with transaction.atomic():
        LEASES.release(stale, status=Status.UNKNOWN, status_at=now,
                       status_reason="unknown: the worker stopped mid-call; waiting for a receipt")
        status_hooks.announce_now_in([message.pk], Status.UNKNOWN)
    return Status.UNKNOWN
