"""message_status_changed is announced by every path that moves a text on: the dispatcher's
results (sent, failed, unknown), the gate's holds (suppressed), recovery of orphans and
delivery receipts; a retry or a deferral (the dispatcher's own bookkeeping) is not."""
import pytest
from django.utils import timezone

from textpilot.common.hooks import MessageStatusChanged
from textpilot.delivery import claims, gating, receiving, service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import Message, Status
from textpilot.delivery.providers.base import Outcome, Receipt, SendResult
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus

pytestmark = pytest.mark.django_db(transaction=True)


def statuses(hook_log):
    return [(r.message_id, r.status) for r in hook_log.of("message_status_changed")]


def claimed_and_gated(sender):
    token, claimed = claims.claim_due(sender.pk, 10, "test")
    now = timezone.now()
    return token, claims.apply_gate(token, claimed, gating.gate_batch(claimed, now), now)


def test_a_sent_and_delivered_text_is_announced_with_what_sent_it(store, sim_sender, subscribed, hook_log):
    message = service.send_message(store, profile=subscribed, body="Your order shipped", origin="campaign", origin_id=12,
                                   variant="A")
    assert hook_log.of("message_status_changed") == []  # queued is not a change
    dispatch_until_idle(10)
    message.refresh_from_db()
    assert message.status == Status.DELIVERED
    announced = hook_log.of("message_status_changed")
    assert announced == [MessageStatusChanged(message.pk, subscribed.pk, Status.SENT, "campaign", 12),
                         MessageStatusChanged(message.pk, subscribed.pk, Status.DELIVERED, "campaign", 12)]
    assert {store_id for name, store_id, _ in hook_log if name == "message_status_changed"} == {store.pk}


def test_failures_are_announced_and_a_retry_is_not(store, sim_sender, subscribed, hook_log):
    failing = service.send_message(store, profile=subscribed, body="One")
    retried = service.send_message(store, profile=subscribed, body="Two")
    token, to_send = claimed_and_gated(sim_sender)
    claims.record_results(token, {m.pk: m for m in to_send}, [
        SendResult(failing.pk, Outcome.PERMANENT, error="invalid number", error_code="21211"),
        SendResult(retried.pk, Outcome.TRANSIENT, error="timeout"),
    ], "sim")
    assert statuses(hook_log) == [(failing.pk, Status.FAILED)]
    assert Message.objects.get(pk=retried.pk).status == Status.QUEUED


def test_a_text_held_at_the_last_look_is_announced_as_suppressed(store, sim_sender, subscribed, hook_log):
    message = service.send_message(store, profile=subscribed, body="Acme: 20% off. Reply STOP to opt out", kind="marketing")
    token, claimed = claims.claim_due(sim_sender.pk, 10, "test")
    now, checks = timezone.now(), {}
    to_send = claims.apply_gate(token, claimed, gating.gate_batch(claimed, now, checks), now)
    profiles.record_consent(store, subscribed, ConsentStatus.UNSUBSCRIBED, "inbound_keyword", keyword="STOP",
                            basis="observed")
    assert gating.recheck_before_call(token, to_send, checks) == {message.pk}
    assert statuses(hook_log) == [(message.pk, Status.SUPPRESSED)]


def test_only_the_texts_whose_lease_was_still_ours_are_announced(store, sim_sender, subscribed, hook_log):
    ours = service.send_message(store, profile=subscribed, body="One")
    lost = service.send_message(store, profile=subscribed, body="Two")
    token, to_send = claimed_and_gated(sim_sender)
    Message.objects.filter(pk=lost.pk).update(lease_owner="someone-else")  # the lease ran out and was taken
    claims.record_results(token, {m.pk: m for m in to_send}, [
        SendResult(ours.pk, Outcome.ACCEPTED, provider_message_id="p-1"),
        SendResult(lost.pk, Outcome.ACCEPTED, provider_message_id="p-2"),
    ], "sim")
    assert statuses(hook_log) == [(ours.pk, Status.SENT)]


def test_an_orphan_settled_by_recovery_is_announced(store, sim_sender, subscribed, hook_log):
    message = service.send_message(store, profile=subscribed, body="One")
    claimed_and_gated(sim_sender)
    claims.resolve_orphan(Message.objects.get(pk=message.pk), found=None)
    assert statuses(hook_log) == [(message.pk, Status.UNKNOWN)]


def test_a_webhook_batch_of_receipts_is_one_announcement(store, sim_sender, subscribed, hook_log):
    first = service.send_message(store, profile=subscribed, body="One")
    second = service.send_message(store, profile=subscribed, body="Two")
    token, to_send = claimed_and_gated(sim_sender)
    claims.record_results(token, {m.pk: m for m in to_send}, [
        SendResult(first.pk, Outcome.ACCEPTED, provider_message_id="p-1"),
        SendResult(second.pk, Outcome.ACCEPTED, provider_message_id="p-2"),
    ], "sim")
    hook_log.clear()
    receiving.record_receipts(store, "sim", [
        Receipt(status=Status.DELIVERED, provider_message_id="p-1"),
        Receipt(status=Status.UNDELIVERED, provider_message_id="p-2", error_code="30003"),
        Receipt(status=Status.SENT, provider_message_id="p-1"),  # late: changes nothing
    ])
    batches = [batch for name, _, batch in hook_log if name == "message_status_changed"]
    assert [[(r.message_id, r.status) for r in batch] for batch in batches] == [
        [(first.pk, Status.DELIVERED), (second.pk, Status.UNDELIVERED)]]
