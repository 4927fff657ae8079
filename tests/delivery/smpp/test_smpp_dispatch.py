"""SMPP end to end: send_message -> dispatcher -> SMSC (smpp34 on 127.0.0.1), and receipts and
inbound texts pushed by the SMSC stored by the listener (`textpilot smpp_listen`)."""
import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import pytest
import smpp34
from smpp_fakes import PASSWORD, REJECT, SENDER_NUMBER, SYSTEM_ID, smpp_options, wait_until

from textpilot.common.errors import FieldError
from textpilot.delivery import service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import DeliveryAttempt, DeliveryReport, Direction, Message, Status
from textpilot.profiles.models import ConsentStatus, Profile

CUSTOMER = "12125550123"


def listener_esme(smsc, listener):
    """The SMSC's side of the listener's bind (the listener binds first in these tests)."""
    return smsc.wait_for_binds(1)[0]


@pytest.mark.django_db(transaction=True)
def test_send_dispatch_and_a_delivered_receipt(store, subscribed, smpp_sender, smsc, listener):
    esme = listener_esme(smsc, listener)
    message = service.send_message(store, to=subscribed.phone, body="Your order #1001 shipped! Track: https://t.co/x")

    assert dispatch_until_idle(30) == 1

    message.refresh_from_db()
    assert (message.status, message.provider, message.provider_message_id) == (Status.SENT, "smpp", "smsc-1")
    [submitted] = smsc.submits
    assert submitted.short_message == message.body.encode("ascii")
    assert (submitted.destination_addr, submitted.registered_delivery) == (CUSTOMER, 1)
    attempt = DeliveryAttempt.objects.get(message=message)
    assert attempt.response["message_ids"] == ["smsc-1"]

    assert smsc.receipt(esme, "smsc-1", "DELIVRD", to=SENDER_NUMBER[1:], source=CUSTOMER) == 0

    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.delivered_at is not None
    report = DeliveryReport.objects.get(message=message)
    assert (report.provider, report.status, report.applied, report.raw["stat"]) == ("smpp", "delivered", True, "DELIVRD")


@pytest.mark.django_db(transaction=True)
def test_a_long_text_goes_out_in_parts_and_an_undelivered_receipt_for_its_first_part_settles_it(
        store, subscribed, smpp_sender, smsc, listener):
    esme = listener_esme(smsc, listener)
    body = "Big sale [today] only: " + "everything must go! " * 16 + "€5 off with code {SAVE5}"
    message = service.send_message(store, to=subscribed.phone, body=body, render=False)
    assert message.segments == 3

    dispatch_until_idle(30)

    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (Status.SENT, "smsc-1")
    assert [s.short_message[4:6] for s in smsc.submits] == [bytes([3, n]) for n in (1, 2, 3)]
    assert smsc.receipt(esme, "smsc-1", "UNDELIV", "034", to=SENDER_NUMBER[1:], source=CUSTOMER) == 0

    message.refresh_from_db()
    assert (message.status, message.error_code) == (Status.UNDELIVERED, "034")
    assert "UNDELIV" in message.status_reason


@pytest.mark.django_db(transaction=True)
def test_throttled_by_the_smsc_the_message_waits_for_a_retry(store, subscribed, smpp_sender, smsc):
    smsc.decide = lambda s: (REJECT, smpp34.ESME_RTHROTTLED)
    message = service.send_message(store, to=subscribed.phone, body="Hello")

    dispatch_until_idle(30)

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert "0x00000058" in message.status_reason
    assert DeliveryAttempt.objects.get(message=message).outcome == "transient"


@pytest.mark.django_db(transaction=True)
def test_an_inbound_stop_unsubscribes_and_is_confirmed(store, subscribed, smpp_sender, smsc, listener):
    esme = listener_esme(smsc, listener)

    status = smsc.deliver_sm(esme, SENDER_NUMBER[1:], b"Stop", source_addr=CUSTOMER, source_addr_ton=1,
                             source_addr_npi=1, dest_addr_ton=1, dest_addr_npi=1)

    assert status == 0
    assert Profile.objects.get(pk=subscribed.pk).sms_status == ConsentStatus.UNSUBSCRIBED
    inbound = Message.objects.get(store=store, direction=Direction.INBOUND)
    assert (inbound.body, inbound.from_phone, inbound.to_phone, inbound.provider) == ("Stop", subscribed.phone,
                                                                                      SENDER_NUMBER, "smpp")
    # The one confirmation goes back out through the SMSC.
    dispatch_until_idle(30)
    [reply] = Message.objects.filter(store=store, direction=Direction.OUTBOUND)
    assert reply.status == Status.SENT and "unsubscribed" in reply.body
    assert smsc.submits[-1].short_message == reply.body.encode("gsm03.38")


@pytest.mark.django_db(transaction=True)
def test_a_receipt_the_database_cannot_take_is_refused_so_the_smsc_sends_it_again(
        store, subscribed, smpp_sender, smsc, listener, monkeypatch):
    from textpilot.delivery.providers.smpp import listener as listener_module

    esme = listener_esme(smsc, listener)
    message = service.send_message(store, to=subscribed.phone, body="Hello")
    dispatch_until_idle(30)

    def database_down(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(listener_module, "store_receipt", database_down)
    assert smsc.receipt(esme, "smsc-1", to=SENDER_NUMBER[1:], source=CUSTOMER) == 0x64
    monkeypatch.undo()
    assert smsc.receipt(esme, "smsc-1", to=SENDER_NUMBER[1:], source=CUSTOMER) == 0
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_the_listener_binds_again_after_the_smsc_drops_it(store, smpp_sender, smsc, listener):
    first = listener_esme(smsc, listener)
    smsc.unbind(first)
    second = wait_until(lambda: smsc.esmes[1] if len(smsc.esmes) > 1 else None, "a second bind")
    assert smsc.deliver_sm(second, SENDER_NUMBER[1:], b"HELP", source_addr=CUSTOMER, source_addr_ton=1) == 0
    assert Message.objects.filter(store=store, direction=Direction.INBOUND, body="HELP").exists()


@pytest.mark.parametrize("credentials, options, field", [
    ({"password": PASSWORD}, {"host": "smsc.example"}, "system_id"),
    ({"system_id": SYSTEM_ID}, {"host": "smsc.example"}, "password"),
    ({"system_id": SYSTEM_ID, "password": "much-too-long"}, {"host": "smsc.example"}, "password"),
    ({"system_id": "a-system-id-too-long", "password": PASSWORD}, {"host": "smsc.example"}, "system_id"),
    ({"system_id": SYSTEM_ID, "password": PASSWORD}, {}, "host"),
    ({"system_id": SYSTEM_ID, "password": PASSWORD}, {"host": "smsc.example", "port": 70000}, "port"),
    ({"system_id": SYSTEM_ID, "password": PASSWORD}, {"host": "smsc.example", "source_addr_ton": "x"}, "source_addr_ton"),
    ({"system_id": SYSTEM_ID, "password": PASSWORD}, {"host": "smsc.example", "window": 0}, "window"),
])
def test_a_bad_configuration_names_the_field_and_creates_nothing(store, credentials, options, field):
    with pytest.raises(FieldError) as error:
        service.create_sender(store, name="SMSC", provider="smpp", from_number=SENDER_NUMBER,
                              credentials=credentials, options=options)
    assert error.value.field == field
    assert not service.list_senders(store).exists()


def test_the_command_refuses_a_sender_of_another_provider(store, sim_sender):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="not smpp"):
        call_command("smpp_listen", "--sender", str(sim_sender.pk))
    with pytest.raises(CommandError, match="no sender"):
        call_command("smpp_listen", "--sender", "999999")


def test_options_are_stored_with_the_sender(store, smsc):
    sender = service.create_sender(store, name="SMSC", provider="smpp", from_number=SENDER_NUMBER,
                                   credentials={"system_id": SYSTEM_ID, "password": PASSWORD}, options=smpp_options(smsc))
    assert sender.options["port"] == smsc.port and sender.options["dest_addr_ton"] == 1
    assert service.sender_credentials(sender) == {"system_id": SYSTEM_ID, "password": PASSWORD}


@pytest.mark.django_db(transaction=True)
def test_an_inbound_text_from_an_address_that_is_no_number_is_refused_for_good(store, subscribed, smpp_sender, smsc,
                                                                                listener):
    """Nothing could ever store it: answered ESME_RINVSRCADR (permanent), not 0x64 (the SMSC
    would resend it forever); the bind goes on taking texts."""
    esme = listener_esme(smsc, listener)
    assert smsc.deliver_sm(esme, SENDER_NUMBER[1:], b"STOP", source_addr="12", source_addr_ton=1) == smpp34.ESME_RINVSRCADR
    assert not Message.objects.filter(direction=Direction.INBOUND).exists()
    assert Profile.objects.get(pk=subscribed.pk).sms_status == ConsentStatus.SUBSCRIBED
    # A national number (TON 0) is read in the store's country, as a webhook's would be.
    assert smsc.deliver_sm(esme, SENDER_NUMBER[1:], b"Hi", source_addr="2125550123", source_addr_ton=0) == 0
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert (inbound.from_phone, inbound.profile_id, inbound.sender_id) == (subscribed.phone, subscribed.pk, smpp_sender.pk)


@pytest.mark.django_db(transaction=True)
def test_a_repeated_receipt_changes_nothing_the_second_time(store, subscribed, smpp_sender, smsc, listener):
    esme = listener_esme(smsc, listener)
    message = service.send_message(store, to=subscribed.phone, body="Hello")
    dispatch_until_idle(30)
    assert smsc.receipt(esme, "smsc-1", "UNDELIV", "034", to=SENDER_NUMBER[1:], source=CUSTOMER) == 0
    first = Message.objects.filter(pk=message.pk).values().get()
    assert smsc.receipt(esme, "smsc-1", "UNDELIV", "034", to=SENDER_NUMBER[1:], source=CUSTOMER) == 0
    assert Message.objects.filter(pk=message.pk).values().get() == first and first["status"] == Status.UNDELIVERED
    assert list(DeliveryReport.objects.values_list("applied", flat=True).order_by("id")) == [True, False]
