"""End to end: send_message -> dispatcher -> Twilio provider -> the local fake Twilio API, and
back through a signed status callback. The dispatcher works from threads, hence transaction=True."""
import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from twilio_fakes import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, TWILIO_NUMBER, post_signed

from textpilot.delivery import service
from textpilot.delivery.dispatch import dispatch_until_idle
from textpilot.delivery.models import DeliveryAttempt, DeliveryReport, Message, Status
from textpilot.profiles.models import ConsentEvent, ConsentStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def public_url(settings):
    settings.TEXTPILOT_PUBLIC_URL = PUBLIC_URL
    return PUBLIC_URL


def test_accepted_mms_is_sent_with_twilios_sid(store, twilio_sender, subscribed, fake_twilio, public_url):
    message = service.send_message(store, profile=subscribed, body="Hi {{ first_name }}, it shipped!",
                                   media_urls=["https://cdn.acme.test/box.jpg", "https://cdn.acme.test/map.png"])
    assert dispatch_until_idle(max_seconds=30) >= 1
    message.refresh_from_db()
    [request] = fake_twilio.requests
    assert message.status == Status.SENT and message.provider == "twilio"
    assert message.provider_message_id and message.provider_message_id.startswith("SM")
    assert request["form"] == {
        "To": [subscribed.phone], "From": [TWILIO_NUMBER], "Body": ["Hi Ann, it shipped!"],
        "MediaUrl": ["https://cdn.acme.test/box.jpg", "https://cdn.acme.test/map.png"],
        "StatusCallback": [f"{PUBLIC_URL}/webhooks/twilio/acme/status?mid={message.pk}"],
    }
    [attempt] = DeliveryAttempt.objects.filter(message=message)
    assert attempt.outcome == "accepted" and attempt.response["sid"] == message.provider_message_id
    assert attempt.request["To"] == subscribed.phone and AUTH_TOKEN not in str(attempt.request)


def test_unsubscribed_recipient_fails_and_unsubscribes_the_profile(store, twilio_sender, subscribed, fake_twilio):
    fake_twilio.will(subscribed.phone, ("error", 400, 21610, "Attempt to send to unsubscribed recipient"))
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    dispatch_until_idle(max_seconds=30)
    message.refresh_from_db()
    subscribed.refresh_from_db()
    assert (message.status, message.error_code) == (Status.FAILED, "21610")
    assert "unsubscribed recipient" in message.status_reason
    assert subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    event = ConsentEvent.objects.filter(profile=subscribed).order_by("-id").first()
    assert event.status == ConsentStatus.UNSUBSCRIBED and event.source.startswith("carrier_opt_out")
    assert event.keyword == "21610"
    assert len(fake_twilio.requests) == 1


@pytest.mark.parametrize("status,code,headers,least_wait_s", [
    (500, 20500, None, 0),
    (429, 20429, {"Retry-After": "120"}, 119),
])
def test_server_errors_and_throttling_are_retried_later(store, twilio_sender, subscribed, fake_twilio,
                                                        status, code, headers, least_wait_s):
    fake_twilio.will(subscribed.phone, ("error", status, code, "Try again later", headers))
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    before = timezone.now()
    dispatch_until_idle(max_seconds=30)
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.attempts == 1
    assert message.send_after > before + dt.timedelta(seconds=least_wait_s)
    assert message.status_reason.startswith("retrying: twilio")
    assert len(fake_twilio.requests) == 1  # not retried at once, and never given up
    [attempt] = DeliveryAttempt.objects.filter(message=message)
    assert attempt.outcome == "transient" and attempt.response["http_status"] == status

    # Once it is due again, the next attempt goes out and is accepted.
    Message.objects.filter(pk=message.pk).update(send_after=timezone.now())
    dispatch_until_idle(max_seconds=30)
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 2 and len(fake_twilio.requests) == 2


def test_dropped_connection_is_unknown_until_a_signed_callback_settles_it(client, store, twilio_sender, subscribed,
                                                                           fake_twilio, public_url):
    fake_twilio.will(subscribed.phone, ("drop",))
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    dispatch_until_idle(max_seconds=30)
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN and message.provider_message_id is None
    dispatch_until_idle(max_seconds=30)
    assert len(fake_twilio.requests) == 1  # an unknown message is never resent blindly

    # Twilio did get it: its callback goes to the URL we gave it, with our message id.
    callback = fake_twilio.requests[0]["form"]["StatusCallback"][0]
    path = urlsplit(callback).path + "?" + urlsplit(callback).query
    params = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + "7" * 32,
              "MessageStatus": "delivered", "From": TWILIO_NUMBER, "To": subscribed.phone, "ApiVersion": "2010-04-01"}
    response = post_signed(client, path, params, base=PUBLIC_URL)
    assert response.status_code == 200, response.content
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.provider_message_id == "SM" + "7" * 32
    assert DeliveryReport.objects.filter(message=message, applied=True).count() == 1
