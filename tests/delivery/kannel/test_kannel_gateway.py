"""End to end through a real Kannel (bearerbox, smsbox, fakesmsc): send -> the fake SMS centre
gets it -> Kannel posts the receipt -> delivered; texts from the fake SMS centre reach
textpilot as inbound messages."""
from urllib.parse import quote_from_bytes

from conftest import wait_until

from textpilot.delivery import service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import DeliveryReport, Direction, Message, Origin, Status
from textpilot.messaging.encoding import count_segments
from textpilot.profiles import service as profiles
from textpilot.profiles.models import ConsentStatus


def customer(store, phone="+12125550123"):
    profile = profiles.create_profile(store, phone=phone, first_name="Ann", timezone="America/New_York")
    profiles.record_consent(store, profile, ConsentStatus.SUBSCRIBED, source="test")
    return profile


def delivered(message) -> bool:
    return Message.objects.get(pk=message.pk).status == Status.DELIVERED


def test_send_reaches_the_smsc_and_the_receipt_marks_it_delivered(kannel, kannel_store):
    message = service.send_message(kannel_store, profile=customer(kannel_store), body="Hi {{ first_name }}, your order shipped")
    assert dispatch_until_idle(30) == 1
    assert wait_until(lambda: "Hi Ann, your order shipped" in kannel.texts()), kannel.log()[-2000:]
    assert wait_until(lambda: delivered(message)), list(DeliveryReport.objects.values_list("status", "raw"))
    message.refresh_from_db()
    assert message.provider == "kannel" and message.provider_message_id == f"kannel-{message.pk}"
    receipts = list(DeliveryReport.objects.filter(message=message).values_list("status", "raw__status"))
    assert ("delivered", 1) in receipts  # Kannel's receipt type 1 (and 8, the SMSC's ack, in either order)
    assert all(raw["smsc_message_id"] for raw in DeliveryReport.objects.filter(raw__status=1).values_list("raw", flat=True))


def test_unicode_text_arrives_intact(kannel, kannel_store):
    body = "Спасибо за заказ! 🎉 شكرا"
    message = service.send_message(kannel_store, profile=customer(kannel_store), body=body)
    dispatch_until_idle(30)
    assert wait_until(lambda: body in kannel.texts()), kannel.log()[-2000:]
    assert wait_until(lambda: delivered(message))


def test_long_texts_arrive_whole_in_concatenated_parts(kannel, kannel_store):
    """Kannel splits them (max-messages and concatenation set in its sendsms-user group)."""
    gsm = "Summer sale: " + " ".join(f"item{n:02d}" for n in range(45)) + ". Reply STOP to opt out"
    ucs2 = "Распродажа! 🎉 " * 12 + "STOP — отписаться"
    assert count_segments(gsm).segments >= 2 and count_segments(ucs2).segments >= 3
    profile = customer(kannel_store)
    first = service.send_message(kannel_store, profile=profile, body=gsm, origin_key="long-gsm")
    assert dispatch_until_idle(30) == 1
    assert wait_until(lambda: gsm in kannel.texts()), kannel.log()[-3000:]
    second = service.send_message(kannel_store, profile=profile, body=ucs2, origin_key="long-ucs2")
    assert dispatch_until_idle(30) == 1
    assert wait_until(lambda: ucs2 in kannel.texts("utf-16-be")), kannel.log()[-3000:]
    assert kannel.log().count(" udh ") >= count_segments(gsm).segments + count_segments(ucs2).segments
    # One receipt per text (not per part) marks each delivered.
    assert wait_until(lambda: delivered(first) and delivered(second))


def test_inbound_stop_from_the_smsc_unsubscribes(kannel, kannel_store):
    profile = customer(kannel_store, phone="+12125550177")
    kannel.start_fakesmsc("+12125550177 +14155550100 text STOP", count=1)
    assert wait_until(lambda: Message.objects.filter(direction=Direction.INBOUND, body="STOP").exists()), kannel.log()[-2000:]
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert inbound.profile_id == profile.pk and inbound.provider == "kannel" and inbound.provider_message_id
    profile.refresh_from_db()
    assert profile.sms_status == ConsentStatus.UNSUBSCRIBED
    confirmation = Message.objects.get(direction=Direction.OUTBOUND, origin=Origin.KEYWORD_REPLY)  # exactly one
    dispatch_until_idle(30)
    assert wait_until(lambda: any("unsubscribed" in text for text in kannel.texts())), kannel.log()[-2000:]
    assert wait_until(lambda: delivered(confirmation))


def test_inbound_unicode_from_the_smsc_arrives_intact(kannel, kannel_store):
    """Kannel hands a UCS-2 text to the get-url as UTF-16BE bytes (charset=%C says so)."""
    profile = customer(kannel_store, phone="+12125550166")
    body = "Когда доставка? 📦 متى"
    kannel.start_fakesmsc(f"+12125550166 +14155550100 ucs2 {quote_from_bytes(body.encode('utf-16-be'))}", count=1)
    assert wait_until(lambda: Message.objects.filter(direction=Direction.INBOUND).exists()), kannel.log()[-2000:]
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert (inbound.body, inbound.profile_id) == (body, profile.pk)
