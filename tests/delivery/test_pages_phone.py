"""The phone simulator: the customer's side of the sim carrier. Texts typed on it arrive as
real inbound texts (STOP/HELP work); it shows what the carrier delivered to the number."""
import re

import pytest
from django.urls import reverse

from textpilot.delivery import service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import Direction, Message, Origin
from textpilot.profiles.models import ConsentStatus

CUSTOMER = "+12125550123"


def test_without_a_sim_sender_the_page_explains_how_to_get_one(owner_client, store):
    service.create_sender(store, name="Twilio", provider="twilio", from_number="+14155550111",
                          credentials={"account_sid": "AC" + "1" * 32, "auth_token": "secret"})
    html = owner_client.get(reverse("delivery:phone")).content.decode()
    assert "has no active <code>sim</code> sender" in html
    response = owner_client.post(reverse("delivery:phone_send"), {"number": CUSTOMER, "body": "hi"})
    assert response.status_code == 409
    assert not Message.objects.filter(store=store, direction=Direction.INBOUND).exists()


def test_typing_as_the_customer_arrives_as_an_inbound_text(owner_client, store, sim_sender, subscribed):
    response = owner_client.post(reverse("delivery:phone_send"), {"number": "(212) 555-0123", "body": "Hello store"},
                                 HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="phone"')
    received = Message.objects.get(store=store, direction=Direction.INBOUND)
    assert (received.from_phone, received.to_phone, received.provider, received.profile_id) == (
        CUSTOMER, sim_sender.from_number, "sim", subscribed.pk)
    assert re.search(r'class="bubble-row mine"[^>]*data-direction="inbound">\s*<div class="bubble bubble-mine">Hello store', html)


@pytest.mark.django_db(transaction=True)
def test_stop_typed_on_the_phone_unsubscribes_and_the_confirmation_shows_up(client, store, sim_sender, subscribed):
    from textpilot.stores import service as stores_service

    client.force_login(stores_service.ensure_user("owner@acme.test", "correct-horse-battery", store, "owner"))
    client.post(reverse("delivery:phone_send"), {"number": CUSTOMER, "body": "STOP"}, HTTP_HX_REQUEST="true")
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    screen = client.get(reverse("delivery:phone_thread"), {"number": CUSTOMER}).content.decode()
    assert "1 text from the store on the way" in screen  # queued, not on the phone yet
    assert "You are unsubscribed" not in screen
    dispatch_until_idle(max_seconds=10)
    screen = client.get(reverse("delivery:phone_thread"), {"number": CUSTOMER}).content.decode()
    assert re.search(r'class="bubble-row theirs"[^>]*data-direction="outbound">\s*<div class="bubble bubble-theirs">Acme Outdoors: You are unsubscribed', screen)
    assert "on the way" not in screen
    assert 'hx-trigger="every 2s"' in screen  # the screen keeps polling


def test_phone_shows_only_what_the_sim_carrier_delivered_to_that_number(owner_client, store, sim_sender, subscribed):
    delivered = service.send_message(store, profile=subscribed, body="Your code is 1234")
    service.apply_delivery_report(store, provider="sim", status="delivered", message_id=delivered.pk)
    service.send_message(store, to="+12125550999", body="For someone else")
    html = owner_client.get(reverse("delivery:phone"), {"number": CUSTOMER}).content.decode()
    assert "Your code is 1234" in html and "For someone else" not in html
    assert 'href="?number=%2B12125550123"' in html  # recent numbers to pick from


def test_bad_input_names_the_field_and_stores_nothing(owner_client, store, sim_sender):
    response = owner_client.post(reverse("delivery:phone_send"), {"number": "12", "body": "hi"})
    assert response.status_code == 422
    assert "is not a" in response.content.decode() and 'id="number-error"' in response.content.decode()
    response = owner_client.post(reverse("delivery:phone_send"), {"number": CUSTOMER, "body": "  "})
    assert response.status_code == 422 and "type a text to send" in response.content.decode()
    assert not Message.objects.filter(store=store).exists()
    page = owner_client.get(reverse("delivery:phone"), {"number": "not a number"})
    assert page.status_code == 422 and 'id="pick-number-error"' in page.content.decode()


def test_phone_is_scoped_to_the_store(owner_client, store, other_store, sim_sender):
    theirs = service.create_sender(other_store, name="Sim", provider="sim", from_number="+4915123450000")
    secret = service.send_message(other_store, to="+12125550123", body="Other store secret", sender=theirs)
    service.apply_delivery_report(other_store, provider="sim", status="delivered", message_id=secret.pk)
    html = owner_client.get(reverse("delivery:phone"), {"number": CUSTOMER}).content.decode()
    assert "Other store secret" not in html
    owner_client.post(reverse("delivery:phone_send"), {"number": CUSTOMER, "body": "hello"})
    assert Message.objects.get(direction=Direction.INBOUND).store_id == store.pk
    assert Message.objects.filter(store=other_store, origin=Origin.KEYWORD_REPLY).count() == 0
