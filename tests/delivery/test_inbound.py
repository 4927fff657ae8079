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


@pytest.mark.parametrize("body, keyword", [("Opt-Out!", "OPT OUT"), ("opt out", "OPT OUT"), ("unsubscribe 🙏", "UNSUBSCRIBE")])
def test_keyword_with_punctuation_or_emoji_is_a_keyword_opt_out(store, sim_sender, subscribed, body, keyword):
    receive(store, body)
    event = ConsentEvent.objects.filter(profile=subscribed).last()
    assert (event.status, event.source, event.keyword, event.basis) == ("unsubscribed", "inbound_keyword", keyword, "observed")


@pytest.mark.parametrize("body, phrase", [
    ("please stop texting me", "stop texting"), ("No más mensajes", "no mas mensajes"), ("STOP SVP", "stop svp"),
    ("ARRÊT", "arret"), ("Remove me from this list", "remove me"),
])
def test_a_request_in_other_words_unsubscribes_with_one_confirmation(store, sim_sender, subscribed, body, phrase):
    message = receive(store, body)
    receive(store, "no more texts")  # already out: recorded, but no second confirmation
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    replies = Message.objects.filter(direction=Direction.OUTBOUND, origin=Origin.KEYWORD_REPLY)
    assert list(replies.values_list("body", flat=True)) == [service.reply_texts(store)["stop"]]
    first, second = ConsentEvent.objects.filter(profile=subscribed, status="unsubscribed").order_by("id")
    assert (first.source, first.keyword, first.basis) == ("inbound_reply", phrase, "observed")
    assert (second.source, second.keyword) == ("inbound_reply", "no more texts")
    message.refresh_from_db()
    assert message.review_flag == ""


@pytest.mark.parametrize("body", ["don't stop the sale!", "too many texts lol", "who is this?", "¿Quién es?"])
def test_a_possible_opt_out_is_flagged_and_leaves_consent_alone(store, sim_sender, subscribed, body):
    events_before = ConsentEvent.objects.filter(profile=subscribed).count()
    message = receive(store, body)
    message.refresh_from_db()
    assert message.review_flag == "possible_opt_out"
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.SUBSCRIBED
    assert ConsentEvent.objects.filter(profile=subscribed).count() == events_before
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_plain_conversation_is_not_flagged(store, sim_sender, subscribed):
    message = receive(store, "stop by the store tomorrow?")
    message.refresh_from_db()
    assert message.review_flag == ""
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.SUBSCRIBED


def test_keyword_handlers_run_only_for_plain_texts(store, sim_sender, subscribed, monkeypatch):
    seen = []

    def handler(store_, profile, message, keyword):
        seen.append(keyword)
        return keyword == "JOIN"

    monkeypatch.setattr(inbound, "KEYWORD_HANDLERS", [handler])
    receive(store, "join!")
    receive(store, "who is this?")  # possible opt-out: for staff, not for growth keywords
    receive(store, "please stop texting me")
    assert seen == ["JOIN"]
