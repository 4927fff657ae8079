"""The provider interface's receiving half, whatever the provider: the generic webhook view's
own answers, the contract every provider's receiving methods keep, and the dispatcher's
periodic housekeeping (the sim's receipts) through the same write path as a webhook."""
import datetime as dt
import logging

import pytest
from django.utils import timezone

from textpilot.common.errors import FieldError
from textpilot.delivery import receiving, service
from textpilot.delivery.dispatch import _provider_housekeeping
from textpilot.delivery.models import DeliveryReport, Message, Sender, SimDelivery, Status
from textpilot.delivery.providers import base
from textpilot.delivery.providers.base import INBOUND, RECEIPT, InboundText, Provider, Receipt, provider_names


# --- the generic view's own answers ----------------------------------------------------------

@pytest.mark.parametrize("path,status,complaint", [
    ("/webhooks/nexmo/acme/receipt", 404, "no provider named 'nexmo'"),
    ("/webhooks/sim/acme/receipt", 404, "takes no receipt webhooks"),  # its receipts come from periodic()
    ("/webhooks/smpp/acme/inbound", 404, "takes no inbound webhooks"),  # SMPP delivers on its bind
    ("/webhooks/twilio/nobody/inbound", 404, "no such store"),
    ("/webhooks/kannel/acme/dlr", 404, "this store has no Kannel"),
])
def test_calls_that_reach_no_sender_are_404_naming_why(client, store, sim_sender, path, status, complaint):
    answer = client.post(path, {"MessageSid": "SM1", "MessageStatus": "delivered"})
    assert answer.status_code == status and complaint in answer.json()["detail"]
    assert not DeliveryReport.objects.exists()


def test_a_method_the_provider_never_uses_is_405(client, store):
    service.create_sender(store, name="Twilio", provider="twilio", from_number="+14155550100",
                          credentials={"account_sid": "AC" + "0" * 32, "auth_token": "f" * 32})
    answer = client.get("/webhooks/twilio/acme/inbound")
    assert answer.status_code == 405 and answer["Allow"] == "POST"


# --- the contract ------------------------------------------------------------------------------

def _overrides(cls, name) -> bool:
    return getattr(cls, name) is not getattr(Provider, name)


@pytest.mark.parametrize("name", provider_names())
def test_every_webhook_a_provider_declares_is_verified_and_read_by_it(name):
    cls = base.provider_class(name)
    assert cls.webhook_kinds <= {RECEIPT, INBOUND}
    if cls.webhook_kinds:
        assert _overrides(cls, "verify_webhook"), f"{name} takes webhooks without verifying them"
        assert set(cls.webhook_methods) <= {"GET", "POST"}
    assert (RECEIPT in cls.webhook_kinds) == _overrides(cls, "parse_receipts")
    assert (INBOUND in cls.webhook_kinds) == _overrides(cls, "parse_inbound")


def test_webhook_numbers_are_e164_and_our_short_codes_stay_as_they_are():
    assert base.webhook_phone("(212) 555-0123", "from", "US") == "+12125550123"
    assert base.webhook_phone("030 901820", "from", "DE") == "+4930901820"
    with pytest.raises(base.WebhookMalformed) as refused:
        base.webhook_phone("12", "from", "US")
    assert refused.value.field == "from" and refused.value.detail.startswith("from: ")
    assert base.our_number("14155550100", "US") == "+14155550100"
    assert (base.our_number("12345", "US"), base.our_number("ACME", "US"), base.our_number("", "US")) == ("12345", "ACME", "")


# --- the write path ----------------------------------------------------------------------------

@pytest.fixture
def sent(store, sim_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    Message.objects.filter(pk=message.pk).update(status=Status.SENT, provider="sim", provider_message_id="SM1")
    return message


def test_records_of_one_call_are_written_together_or_not_at_all(store, sent, subscribed):
    """The second text of a call can't be stored (its number is no number): the first isn't either."""
    texts = [InboundText(from_phone=subscribed.phone, to_phone="+14155550100", body="STOP"),
             InboundText(from_phone="12", to_phone="+14155550100", body="hi")]
    with pytest.raises(FieldError):
        receiving.record_inbound(store, "sim", texts)
    assert not Message.objects.filter(direction="inbound").exists()
    subscribed.refresh_from_db()
    assert subscribed.sms_status == "subscribed"


def test_a_carrier_opt_out_in_a_receipt_unsubscribes_once(store, sent, subscribed):
    receipt = Receipt(status=Status.FAILED, provider_message_id="SM1", error_code="21610", carrier_opt_out=True)
    receiving.record_receipts(store, "sim", [receipt, receipt])
    subscribed.refresh_from_db()
    assert subscribed.sms_status == "unsubscribed"
    assert subscribed.consent_events.filter(source="carrier_opt_out:sim").count() == 1


# --- periodic housekeeping ---------------------------------------------------------------------

class _BrokenHousekeeping(Provider):
    name = "broken-housekeeping"
    label = "A provider whose housekeeping fails"

    @classmethod
    def periodic(cls, now):
        raise RuntimeError("housekeeping failed")


@pytest.fixture
def broken_provider():
    base.register(_BrokenHousekeeping)
    yield _BrokenHousekeeping
    base._REGISTRY.pop(_BrokenHousekeeping.name)


def test_the_dispatcher_runs_each_providers_housekeeping_once_and_a_failing_one_stops_no_other(
        store, sim_sender, sent, broken_provider, caplog):
    SimDelivery.objects.create(store_id=store.pk, client_ref=str(sent.pk), provider_message_id="SM1", to_phone=sent.to_phone,
                               from_phone=sim_sender.from_number, body=sent.body,
                               receipt_due_at=timezone.now() - dt.timedelta(seconds=1))
    second_sim = Sender(store=store, provider="sim", name="Sim 2")
    senders = [Sender(store=store, provider=broken_provider.name, name="Broken"), sim_sender, second_sim]
    with caplog.at_level(logging.ERROR):
        assert _provider_housekeeping(senders) == 1  # two sim senders, one carrier: posted once
    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED
    [report] = DeliveryReport.objects.all()
    assert (report.provider, report.message_id, report.applied, report.raw["id"]) == ("sim", sent.pk, True, "SM1")
    assert SimDelivery.objects.get().receipt_sent_at is not None
    assert any(isinstance(r.msg, dict) and r.msg.get("event") == "dispatcher.periodic_failed"
               and r.msg.get("provider") == broken_provider.name for r in caplog.records)
    assert _provider_housekeeping(senders) == 0  # each receipt is posted exactly once
    assert DeliveryReport.objects.count() == 1


def test_receipts_not_due_yet_wait(store, sim_sender, sent):
    SimDelivery.objects.create(store_id=store.pk, client_ref=str(sent.pk), provider_message_id="SM1", to_phone=sent.to_phone,
                               from_phone=sim_sender.from_number, body=sent.body, receipt_status="undelivered",
                               receipt_due_at=timezone.now() + dt.timedelta(minutes=5))
    assert _provider_housekeeping([sim_sender]) == 0
    assert base.provider_class("sim").periodic(timezone.now() + dt.timedelta(minutes=6)) == 1
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == (Status.UNDELIVERED, "30003")
