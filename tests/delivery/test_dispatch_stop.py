"""A dispatcher asked to stop (SIGTERM, or `textpilot serve` stopping its children) finishes
the batches in hand and leaves no lease behind; a claim the stop cut short is given back at
once instead of waiting out the lease. The real-process version is tests/web/test_serve_stop.py."""
import asyncio

import pytest
from django.db.models import Count
from django.utils import timezone

from textpilot.delivery import claims, gating, loadgen
from textpilot.delivery.dispatch import Dispatcher
from textpilot.delivery.models import Message, SimDelivery, Status

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stop_mid_send_lets_the_batches_in_hand_finish(store, sim_sender):
    sim_sender.rate_per_second = 20  # 40-text claims paced over 2 s: the stop lands mid-batch
    sim_sender.options = {**sim_sender.options, "latency_ms": 20, "dlr_delay_s": 3600}
    sim_sender.save()
    total = loadgen.queue_messages(store, sim_sender, loadgen.synthetic_profiles(store, 20), 200)

    async def run():
        stop = asyncio.Event()
        running = asyncio.create_task(Dispatcher().run(stop))
        while await asyncio.to_thread(SimDelivery.objects.count) < 5:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(running, timeout=60)

    asyncio.run(run())
    handed_over = SimDelivery.objects.count()
    statuses = dict(Message.objects.values_list("status").annotate(n=Count("id")))
    assert statuses.get(Status.SENT) == handed_over > 5  # more than it had when told to stop
    assert statuses.get(Status.QUEUED) == total - handed_over > 0
    assert not Message.objects.exclude(lease_owner="").exists() and Status.SENDING not in statuses


def test_release_gives_back_only_this_owners_claims_that_never_went_out(store, sim_sender):
    loadgen.queue_messages(store, sim_sender, loadgen.synthetic_profiles(store, 6), 6)
    token, mine = claims.claim_due(sim_sender.pk, 3, "host:1")
    other_token, others = claims.claim_due(sim_sender.pk, 3, "host:10")  # "host:1" is its prefix
    now = timezone.now()
    sending = claims.apply_gate(token, mine[:1], gating.gate_batch(mine[:1], now, {}), now)
    assert [m.pk for m in sending] == [mine[0].pk]

    assert claims.release_leases("host:1") == 2
    rows = {m.pk: (m.status, m.lease_owner) for m in Message.objects.all()}
    assert rows[mine[0].pk] == (Status.SENDING, token)  # the provider may have it: orphan recovery decides
    assert [rows[m.pk] for m in mine[1:]] == [(Status.QUEUED, "")] * 2
    assert [rows[m.pk] for m in others] == [(Status.QUEUED, other_token)] * 3
    # Given back means due again now: the next claim takes them.
    assert {m.pk for m in claims.claim_due(sim_sender.pk, 10, "host:2")[1]} == {m.pk for m in mine[1:]}
