"""Inbound texts: stored, and STOP/START/HELP acted on with one reply each."""
import pytest

from textpilot.delivery import inbound, service
from textpilot.delivery.models import Direction, Message, Origin, Status
from textpilot.profiles.models import ConsentEvent, ConsentStatus, Profile


def receive(store, body, phone="+12125550123", provider_id=None):
    return inbound.receive_inbound(store, from_phone=phone, to_phone="+14155550100", body=body, provider="sim",
                                   provider_message_id=provider_id)


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop. ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"])
def test_opt_out_words_unsubscribe_and_confirm_once(store, sim_sender, subscribed, word):
    receive(store, word)
    receive(store, word)  # a second STOP: still unsubscribed, no second confirmation
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    replies = Message.objects.filter(direction=Direction.OUTBOUND, origin=Origin.KEYWORD_REPLY)
    assert replies.count() == 1 and "unsubscribed" in replies.get().body
    event = ConsentEvent.objects.filter(profile=subscribed).last()
    assert (event.status, event.source, event.keyword) == ("unsubscribed", "inbound_keyword", word.strip(" .").upper())


def test_start_resubscribes_and_help_answers(store, sim_sender, subscribed):
    receive(store, "STOP")
    receive(store, "start")
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.SUBSCRIBED
    receive(store, "HELP")
    bodies = list(Message.objects.filter(origin=Origin.KEYWORD_REPLY).order_by("id").values_list("body", flat=True))
    assert len(bodies) == 3 and "Reply STOP" in bodies[2]


def test_store_reply_texts_are_used(store, sim_sender, subscribed):
    service.update_compliance_settings(store, stop_reply="Acme: bye {for now}. Text START to return.")
    receive(store, "STOP")
    assert Message.objects.get(origin=Origin.KEYWORD_REPLY).body == "Acme: bye {for now}. Text START to return."


def test_other_text_is_a_stored_reply_without_answer(store, sim_sender, subscribed):
    message = receive(store, "Is the blue jacket back in stock?")
    assert message.direction == Direction.INBOUND and message.status == Status.RECEIVED
    assert message.profile_id == subscribed.pk
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_unknown_number_becomes_a_profile(store, sim_sender):
    receive(store, "hello", phone="+12125550177")
    assert Profile.objects.get(phone="+12125550177").source == "inbound_sms"


def test_repeated_webhook_is_stored_once(store, sim_sender, subscribed):
    first = receive(store, "STOP", provider_id="IN1")
    second = receive(store, "STOP", provider_id="IN1")
    assert first.pk == second.pk
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


@pytest.mark.django_db(transaction=True)
def test_stop_confirmation_is_sent_although_unsubscribed_and_nothing_else_is(store, sim_sender, subscribed):
    from textpilot.delivery.dispatch import dispatch_until_idle
    from textpilot.delivery.models import SimDelivery

    receive(store, "STOP")
    later = service.send_message(store, profile=subscribed, body="Your order shipped")
    dispatch_until_idle(10)
    later.refresh_from_db()
    assert later.status == Status.SUPPRESSED and later.hold_rule == "opted_out"
    assert list(SimDelivery.objects.values_list("body", flat=True)) == [service.reply_texts(store)["stop"]]
