"""The store's daily spend counter (delivery.spend): after dispatchers working at once it
equals the cost of what was handed over, the daily spend cap holds exactly (every text that
fits went, none beyond), and texts that leave `sending` without reaching the provider give
their cost back (held at the last look, retried, failed, found missing after a crash)."""
import asyncio
import datetime as dt
import importlib
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from concurrently import at_once
from django.apps import apps
from django.db.models import Sum
from django.utils import timezone

from textpilot.delivery import claims, gating, loadgen, service, spend
from textpilot.delivery.dispatch import Dispatcher, dispatch_until_idle
from textpilot.delivery.models import DailySpend, Message, SimDelivery, Status
from textpilot.delivery.providers.base import Outcome, SendResult
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus

pytestmark = pytest.mark.django_db(transaction=True)

COST = Decimal("0.0079")  # loadgen's estimated cost per text


def counter(store) -> Decimal:
    return spend.spent_on(store.pk, spend.local_day(timezone.now(), store.timezone))


def handed_over_cost(store) -> Decimal:
    """What the gate used to sum per batch: the cost of every text handed over (or being)."""
    total = Message.objects.filter(store=store, status__in=claims.HANDED_OVER).aggregate(t=Sum("estimated_cost"))["t"]
    return (total or Decimal("0")).quantize(Decimal("0.00001"))


def queue(store, sender, count, people=40):
    return loadgen.queue_messages(store, sender, loadgen.synthetic_profiles(store, people), count)


def set_options(sender, **options):
    sender.options = {**sender.options, **options}
    sender.save(update_fields=["options"])


def test_the_counter_equals_the_handed_over_cost_and_the_cap_holds_with_dispatchers_at_once(store, sim_sender):
    cap = Decimal("0.25")  # room for 31 texts of 0.0079 (0.2449), not 32 (0.2528)
    fits = int(cap // COST)
    service.update_compliance_settings(store, daily_spend_cap=str(cap))
    set_options(sim_sender, latency_ms=30, dlr_delay_s=3600)
    sim_sender.rate_per_second = 5000
    sim_sender.save()
    queue(store, sim_sender, 120)

    def dispatcher(name):
        # Small batches: many claims of the three dispatchers overlap, each gated against a
        # counter the others are about to change.
        async def run():
            worker = Dispatcher(owner=name, batch_size=4)
            try:
                await worker.run_until_idle(60)
            finally:
                await worker.close()

        asyncio.run(run())

    at_once(dispatcher, ["d0", "d1", "d2"])

    statuses = Counter(Message.objects.values_list("status", flat=True))
    assert statuses == {Status.SENT: fits, Status.QUEUED: 120 - fits}, statuses  # every text that fits went
    assert SimDelivery.objects.count() == fits
    held = Message.objects.filter(status=Status.QUEUED)
    assert set(held.values_list("hold_rule", flat=True)) == {"spend_cap"}
    assert all(m.send_after == gating.gate.local_day_start(timezone.now(), store.timezone, days_ahead=1) for m in held)
    assert counter(store) == handed_over_cost(store) == fits * COST <= cap
    # One row, on the store's own date (New York), not the server's.
    assert DailySpend.objects.get(store=store).day == timezone.now().astimezone(ZoneInfo("America/New_York")).date()


def test_the_cap_counts_what_other_batches_marked_sending_since_the_gate_looked(store, sim_sender):
    """Two lanes gate at once (neither sees the other's batch); marking sending re-checks the
    locked counter, so the second lane defers what no longer fits."""
    service.update_compliance_settings(store, daily_spend_cap="0.02")  # two texts of 0.0079 fit, not three
    queue(store, sim_sender, 4, people=4)
    now = timezone.now()
    lanes = []
    for _ in range(2):
        token, claimed = claims.claim_due(sim_sender.pk, 2, "lane", now=now)
        checks = {}
        lanes.append((token, claimed, gating.gate_batch(claimed, now, checks), checks))
    assert all(d.action == "send" for _, _, decisions, _ in lanes for d in decisions.values())  # both saw 0 spent
    first = claims.apply_gate(*lanes[0][:3], now, lanes[0][3])
    second = claims.apply_gate(*lanes[1][:3], now, lanes[1][3])
    assert len(first) == 2 and second == []
    assert {d.rule for d in lanes[1][2].values()} == {"spend_cap"}
    assert set(Message.objects.filter(status=Status.QUEUED).values_list("hold_rule", "attempts")) == {("spend_cap", 0)}
    assert counter(store) == 2 * COST == handed_over_cost(store)


def test_texts_that_never_reached_the_provider_give_their_cost_back(store, sim_sender):
    queue(store, sim_sender, 6, people=6)
    now = timezone.now()
    token, claimed = claims.claim_due(sim_sender.pk, 10, "test", now=now)
    checks = {}
    to_send = claims.apply_gate(token, claimed, gating.gate_batch(claimed, now, checks), now, checks)
    assert len(to_send) == 6 and counter(store) == 6 * COST  # counted when marked sending

    # One recipient texts STOP before the call: held at the last look.
    stopped = to_send[0]
    profiles.record_consent(store, stopped.profile, ConsentStatus.UNSUBSCRIBED, "inbound_keyword", keyword="STOP",
                            basis="observed")
    assert gating.recheck_before_call(token, to_send, checks) == {stopped.pk}
    assert counter(store) == 5 * COST

    accepted, transient, permanent, unknown, orphan = to_send[1:]
    claims.record_results(token, {m.pk: m for m in to_send[1:5]}, [
        SendResult(accepted.pk, Outcome.ACCEPTED, provider_message_id="SM1"),
        SendResult(transient.pk, Outcome.TRANSIENT, error="503"),
        SendResult(permanent.pk, Outcome.PERMANENT, error="invalid number", error_code="21211"),
        SendResult(unknown.pk, Outcome.UNKNOWN, error="connection dropped"),
    ], "sim")
    # Sent and unknown (the provider may have it) stay counted; the retry and the failure don't.
    assert counter(store) == 3 * COST == handed_over_cost(store)

    # The last one's worker "died" mid-call; recovery finds the provider never got it.
    Message.objects.filter(pk=orphan.pk).update(lease_expires_at=now - dt.timedelta(seconds=1))
    [expired] = claims.expired_sending(now=now)
    assert claims.resolve_orphan(expired, found=False) == Status.QUEUED
    assert counter(store) == 2 * COST == handed_over_cost(store)
    # A lost lease gives nothing back twice: resolving the same orphan again changes nothing.
    claims.resolve_orphan(expired, found=False)
    assert counter(store) == 2 * COST


def test_orphans_the_provider_had_or_may_have_stay_counted(store, sim_sender):
    queue(store, sim_sender, 2, people=2)
    now = timezone.now()
    token, claimed = claims.claim_due(sim_sender.pk, 10, "test", now=now)
    claims.apply_gate(token, claimed, gating.gate_batch(claimed, now), now)
    Message.objects.update(lease_expires_at=now - dt.timedelta(seconds=1))  # their worker died mid-call
    found, lost = claims.expired_sending()
    claims.resolve_orphan(found, found=True, provider_message_id="SM9")
    claims.resolve_orphan(lost, found=None)
    assert counter(store) == 2 * COST == handed_over_cost(store)


def test_a_transient_error_gives_the_cost_back_until_the_retry_goes(store, sim_sender, subscribed):
    set_options(sim_sender, failure_rate=1.0)
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    dispatch_until_idle(10)
    message.refresh_from_db()
    assert message.status == Status.QUEUED and counter(store) == 0
    set_options(sim_sender, failure_rate=0.0)
    Message.objects.update(send_after=timezone.now())
    dispatch_until_idle(10)
    assert counter(store) == message.estimated_cost == handed_over_cost(store)


def test_the_upgrade_counts_what_went_out_today_before_the_counter_existed(store, sim_sender):
    queue(store, sim_sender, 5, people=5)
    dispatch_until_idle(10)
    Message.objects.filter(pk=Message.objects.order_by("id")[0].pk).update(status=Status.FAILED)  # not handed over
    Message.objects.filter(pk=Message.objects.order_by("id")[1].pk).update(
        status=Status.SENT, sent_at=timezone.now() - dt.timedelta(days=2))  # another day
    DailySpend.objects.all().delete()
    migration = importlib.import_module("textpilot.delivery.migrations.0004_daily_spend_counter")
    migration.count_today(apps, None)
    assert counter(store) == 3 * COST
