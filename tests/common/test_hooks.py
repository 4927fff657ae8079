"""Hooks (common.hooks) fire after commit, in batches, from every write path; never for a
rolled-back write; a failing listener does not stop the others."""
import pytest
from django.db import transaction

from textpilot.common import hooks
from textpilot.commerce.models import Order
from textpilot.events.models import Event
from textpilot.profiles import service as profiles
from textpilot.profiles.models import Profile

ORDER = {"external_id": "5001", "profile": {"phone": "+14155552671"}, "total": "59.90", "payment_status": "paid",
         "placed_at": "2026-11-01T10:00:00Z", "lines": [{"title": "Tent", "quantity": 1, "price": "59.90"}]}


def test_a_tracked_event_is_announced_with_its_ids(api, store, hook_log):
    with hook_log.committing():
        response = api.post("/api/v1/events", {"profile": {"phone": "+14155552671"}, "name": "viewed_product",
                                              "properties": {"product_id": "7"}})
    assert response.status_code in (200, 201, 202), response.content
    event = Event.objects.get(name="viewed_product")
    [announced] = hook_log.of("events_recorded")
    assert announced == hooks.EventRecorded(event.pk, event.profile_id, "viewed_product", event.occurred_at)
    assert {store_id for _, store_id, _ in hook_log} == {store.pk}


def test_an_order_is_announced_with_its_events_and_a_replay_as_an_update(api, store, hook_log):
    with hook_log.committing():
        assert api.post("/api/v1/orders", ORDER).status_code == 201
    order = Order.objects.get()
    [placed] = hook_log.of("order_recorded")
    assert (placed.order_id, placed.profile_id, str(placed.total), placed.currency, placed.created) == (
        order.pk, order.profile_id, "59.90", "USD", True)
    assert {e.name for e in hook_log.of("events_recorded")} == {"placed_order", "paid_order"}
    hook_log.clear()
    with hook_log.committing():
        assert api.post("/api/v1/orders", ORDER).status_code == 200
    assert [o.created for o in hook_log.of("order_recorded")] == [False]


def test_a_consent_change_is_announced_and_a_repeat_is_not(store, hook_log):
    ann = profiles.create_profile(store, phone="+14155552671")
    with hook_log.committing():
        profiles.record_consent(store, ann, "subscribed", "popup")
        profiles.record_consent(store, ann, "subscribed", "popup")  # no change of status
        profiles.record_consent(store, ann, "unsubscribed", "keyword", basis="observed")
    assert [(c.profile_id, c.status, c.source) for c in hook_log.of("consent_changed")] == [
        (ann.pk, "subscribed", "popup"), (ann.pk, "unsubscribed", "keyword")]


def test_a_rolled_back_write_announces_nothing(store, hook_log):
    ann = profiles.create_profile(store, phone="+14155552671")
    with hook_log.committing():
        with pytest.raises(RuntimeError), transaction.atomic():
            profiles.record_consent(store, ann, "subscribed", "popup")
            raise RuntimeError("the caller fails after the write")
    assert hook_log == []
    assert Profile.objects.get(pk=ann.pk).sms_status != "subscribed"


def test_a_failing_listener_does_not_stop_the_others(store, hook_log):
    def broken(store_id, batch):
        raise ValueError("listener bug")

    hooks.consent_changed._listeners.insert(0, broken)
    try:
        ann = profiles.create_profile(store, phone="+14155552671")
        with hook_log.committing():
            profiles.record_consent(store, ann, "subscribed", "popup")
    finally:
        hooks.consent_changed.disconnect(broken)
    assert [c.status for c in hook_log.of("consent_changed")] == ["subscribed"]


def test_every_hook_is_a_known_seam():
    assert [h.name for h in hooks.ALL] == ["events_recorded", "consent_changed", "order_recorded",
                                           "message_status_changed", "link_clicked"]
