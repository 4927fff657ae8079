"""End to end through a real Kannel: send -> the fake SMS centre gets it -> Kannel posts the
receipt -> delivered; and a text from the fake SMS centre reaches textpilot as inbound."""
from conftest import wait_until

from textpilot.delivery import service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import DeliveryReport, Direction, Message, Origin, Status
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus


def customer(store, phone="+12125550123"):
    profile = profiles.create_profile(store, phone=phone, first_name="Ann", timezone="America/New_York")
    profiles.record_consent(store, profile, ConsentStatus.SUBSCRIBED, source="test")
    return profile


def test_send_reaches_the_smsc_and_the_receipt_marks_it_delivered(kannel, kannel_store):
    message = service.send_message(kannel_store, profile=customer(kannel_store), body="Hi {{ first_name }}, your order shipped")
    assert dispatch_until_idle(30) == 1
    assert wait_until(lambda: "Hi Ann, your order shipped" in kannel.received()), kannel.received()[-2000:]
    assert wait_until(lambda: Message.objects.get(pk=message.pk).status == Status.DELIVERED), \
        list(DeliveryReport.objects.values_list("status", "raw"))
    message.refresh_from_db()
    assert message.provider == "kannel" and message.provider_message_id == f"kannel-{message.pk}"
    receipts = list(DeliveryReport.objects.filter(message=message).values_list("status", "raw__status"))
    assert ("delivered", 1) in receipts  # Kannel's receipt type 1 (and typically 8, the SMSC's ack, before it)


def test_unicode_text_arrives_intact(kannel, kannel_store):
    body = "Спасибо за заказ! 🎉 شكرا"
    service.send_message(kannel_store, profile=customer(kannel_store), body=body)
    dispatch_until_idle(30)
    # fakesmsc logs "Got message N: <from to ucs-2 %XX…>", the UTF-16 bytes url-encoded.
    from urllib.parse import unquote_to_bytes

    def arrived():
        for line in kannel.received().splitlines():
            if "Got message" in line and " ucs-2 " in line:
                encoded = line.rsplit("<", 1)[1].rstrip(">").split(" ", 3)[3]
                if unquote_to_bytes(encoded.replace("+", "%20")).decode("utf-16-be") == body:
                    return True
        return False

    assert wait_until(arrived), kannel.received()[-2000:]


def test_inbound_stop_from_the_smsc_unsubscribes(kannel, kannel_store):
    profile = customer(kannel_store, phone="+12125550177")
    kannel.start_fakesmsc("+12125550177 +14155550100 text STOP", count=1)
    assert wait_until(lambda: Message.objects.filter(direction=Direction.INBOUND, body="STOP").exists()), \
        kannel.received()[-2000:]
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert inbound.profile_id == profile.pk and inbound.provider == "kannel"
    profile.refresh_from_db()
    assert profile.sms_status == ConsentStatus.UNSUBSCRIBED
    confirmation = Message.objects.get(direction=Direction.OUTBOUND, origin=Origin.KEYWORD_REPLY)
    dispatch_until_idle(30)
    assert wait_until(lambda: "unsubscribed" in kannel.received()), kannel.received()[-2000:]
    assert wait_until(lambda: Message.objects.get(pk=confirmation.pk).status == Status.DELIVERED)
