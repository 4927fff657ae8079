"""The inbox: conversations of customers who texted, the thread as chat bubbles, and staff
replies that go out as transactional texts through the same opt-out gate."""
import re

import pytest
from django.urls import reverse

from textpilot.delivery import inbound, service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import Message, Origin, Status


def _text_in(store, sender, phone, body):
    return inbound.receive_inbound(store, from_phone=phone, to_phone=sender.from_number, body=body, provider="sim")


def test_inbox_lists_customers_who_texted_newest_first(owner_client, store, sim_sender, subscribed):
    service.send_message(store, profile=subscribed, body="Only outbound so far")  # not a conversation yet
    assert "No customer has texted yet." in owner_client.get(reverse("delivery:inbox")).content.decode()

    _text_in(store, sim_sender, "+12125550140", "Where is my order?")
    _text_in(store, sim_sender, subscribed.phone, "Thanks!")
    html = owner_client.get(reverse("delivery:inbox")).content.decode()
    assert "2 conversations" in html
    assert html.index("Thanks!") < html.index("Where is my order?")  # newest first
    assert html.count("Awaiting reply") == 2  # the customer wrote last in both

    service.send_message(store, profile=subscribed, body="You're welcome", origin=Origin.INBOX)
    html = owner_client.get(reverse("delivery:inbox")).content.decode()
    assert html.count("Awaiting reply") == 1
    assert "You: </span>You&#x27;re welcome" in html


def test_conversation_shows_both_directions_as_bubbles_with_statuses(owner_client, store, sim_sender, subscribed):
    out = service.send_message(store, profile=subscribed, body="Your order shipped")
    service.apply_delivery_report(store, provider="sim", status="delivered", message_id=out.pk)
    _text_in(store, sim_sender, subscribed.phone, "Great, thanks")
    html = owner_client.get(reverse("delivery:conversation", args=[subscribed.pk])).content.decode()
    assert re.search(r'class="bubble-row mine"[^>]*data-direction="outbound">\s*<div class="bubble bubble-mine">Your order shipped', html)
    assert re.search(r'class="bubble-row theirs"[^>]*data-direction="inbound">\s*<div class="bubble bubble-theirs">Great, thanks', html)
    assert ">Delivered</a>" in html
    assert html.index("Your order shipped") < html.index("Great, thanks")  # oldest first, like a phone


@pytest.mark.django_db(transaction=True)
def test_reply_is_queued_as_an_inbox_text_and_sent(client, store, sim_sender, subscribed):
    from textpilot.stores import service as stores_service

    client.force_login(stores_service.ensure_user("staff@acme.test", "correct-horse-battery", store, "staff"))
    _text_in(store, sim_sender, subscribed.phone, "Do you have tents?")
    response = client.post(reverse("delivery:conversation_reply", args=[subscribed.pk]),
                           {"body": "Yes, {{ plenty }} in stock"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="conversation"')  # htmx gets the thread only
    reply = Message.objects.get(store=store, origin=Origin.INBOX)
    assert (reply.kind, reply.profile_id, reply.body, reply.status) == ("transactional", subscribed.pk, "Yes, {{ plenty }} in stock", "queued")
    assert "Yes, {{ plenty }} in stock" in html
    dispatch_until_idle(max_seconds=10)
    reply.refresh_from_db()
    assert reply.status == Status.DELIVERED


def test_reply_to_an_unsubscribed_customer_warns_and_the_gate_suppresses(owner_client, store, sim_sender, subscribed):
    _text_in(store, sim_sender, subscribed.phone, "STOP")
    page = owner_client.get(reverse("delivery:conversation", args=[subscribed.pk])).content.decode()
    assert "has unsubscribed" in page and "the compliance gate suppresses it" in page
    owner_client.post(reverse("delivery:conversation_reply", args=[subscribed.pk]), {"body": "Sorry to see you go"})
    reply = Message.objects.get(store=store, origin=Origin.INBOX)
    assert reply.status == Status.QUEUED  # the gate decides at sending time…


@pytest.mark.django_db(transaction=True)
def test_the_gate_suppresses_the_reply_to_an_unsubscribed_customer(client, store, sim_sender, subscribed):
    from textpilot.stores import service as stores_service

    client.force_login(stores_service.ensure_user("owner@acme.test", "correct-horse-battery", store, "owner"))
    _text_in(store, sim_sender, subscribed.phone, "STOP")
    dispatch_until_idle(max_seconds=10)  # the STOP confirmation goes; nothing else may
    client.post(reverse("delivery:conversation_reply", args=[subscribed.pk]), {"body": "Sorry to see you go"})
    dispatch_until_idle(max_seconds=10)
    reply = Message.objects.get(store=store, origin=Origin.INBOX)
    assert reply.status == Status.SUPPRESSED and reply.hold_rule == "opted_out"


def test_empty_reply_is_refused_naming_the_field(owner_client, store, sim_sender, subscribed):
    response = owner_client.post(reverse("delivery:conversation_reply", args=[subscribed.pk]), {"body": "   "})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="body-error"' in html and "the reply is empty" in html
    assert not Message.objects.filter(store=store, origin=Origin.INBOX).exists()


def test_thread_refresh_and_other_stores_profiles(owner_client, store, other_store, sim_sender, subscribed):
    from textpilot.profiles import service as profiles

    _text_in(store, sim_sender, subscribed.phone, "ping")
    thread = owner_client.get(reverse("delivery:conversation_thread", args=[subscribed.pk]))
    assert thread.status_code == 200 and "ping" in thread.content.decode()
    klaus = profiles.create_profile(other_store, phone="+4915123456789", first_name="Klaus")
    for name in ("delivery:conversation", "delivery:conversation_thread"):
        assert owner_client.get(reverse(name, args=[klaus.pk])).status_code == 404
    assert owner_client.post(reverse("delivery:conversation_reply", args=[klaus.pk]), {"body": "hi"}).status_code == 404
    assert not Message.objects.filter(profile=klaus).exists()
