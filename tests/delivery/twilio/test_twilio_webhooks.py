"""Twilio's status callbacks and inbound texts, signed with the real twilio RequestValidator:
accepted only with a valid X-Twilio-Signature for the store's sender, and changing nothing
otherwise."""
import pytest
from twilio_fakes import ACCOUNT_SID, AUTH_TOKEN, OTHER_TOKEN, PUBLIC_URL, TWILIO_NUMBER, post_signed, twilio_credentials

from textpilot.delivery import service
from textpilot.delivery.models import DeliveryReport, Direction, Message, Origin, Status
from textpilot.profiles.models import ConsentEvent, ConsentStatus

SID = "SM" + "1" * 32
STATUS_PATH = "/webhooks/twilio/acme/status"
INBOUND_PATH = "/webhooks/twilio/acme/inbound"


@pytest.fixture
def sent(store, twilio_sender, subscribed):
    """A text Twilio accepted with sid SID."""
    message = service.send_message(store, profile=subscribed, body="Your order shipped")
    Message.objects.filter(pk=message.pk).update(status=Status.SENT, provider="twilio", provider_message_id=SID)
    message.refresh_from_db()
    return message


def callback(status: str, sid: str = SID, **extra) -> dict:
    return {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "From": TWILIO_NUMBER, "To": "+12125550123",
            "MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, **extra}


def inbound(body: str, sid: str = "SM" + "9" * 32, **extra) -> dict:
    return {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "From": "+12125550123", "To": TWILIO_NUMBER,
            "Body": body, "NumMedia": "0", "NumSegments": "1", "MessageSid": sid, "SmsMessageSid": sid,
            "FromCountry": "US", "ToCountry": "US", **extra}


# --- signatures ----------------------------------------------------------------------------

def test_signed_status_callback_is_applied(client, sent):
    response = post_signed(client, STATUS_PATH, callback("delivered", Price="-0.00790", PriceUnit="USD"))
    assert response.status_code == 200
    assert response.json() == {"message_id": sent.pk, "status": "delivered"}
    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED and str(sent.actual_cost) == "0.00790"
    [report] = DeliveryReport.objects.all()
    assert report.raw["MessageStatus"] == "delivered" and report.provider == "twilio"


@pytest.mark.parametrize("how", ["missing", "garbage", "other token", "other url", "tampered params"])
def test_bad_signature_is_refused_and_nothing_changes(client, sent, how, caplog):
    params = callback("failed", ErrorCode="30003")
    if how == "missing":
        response = post_signed(client, STATUS_PATH, params, sign=False)
    elif how == "garbage":
        response = post_signed(client, STATUS_PATH, params, signature_value="bm90IGEgc2lnbmF0dXJl")
    elif how == "other token":
        response = post_signed(client, STATUS_PATH, params, token=OTHER_TOKEN)
    elif how == "other url":
        response = post_signed(client, STATUS_PATH, params, base="https://evil.example")
    else:
        from twilio_fakes import signature

        good = signature("http://testserver" + STATUS_PATH, callback("delivered"))
        response = post_signed(client, STATUS_PATH, params, signature_value=good)
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["detail"]
    sent.refresh_from_db()
    assert sent.status == Status.SENT and not DeliveryReport.objects.exists()
    [refused] = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "webhook.refused"]
    # The log line an operator needs to fix a misconfigured public URL: which provider, which URL was checked.
    assert refused["provider"] == "twilio" and refused["url"] == "http://testserver" + STATUS_PATH


def test_bad_signature_on_inbound_stores_nothing(client, store, twilio_sender, subscribed):
    response = post_signed(client, INBOUND_PATH, inbound("STOP"), token=OTHER_TOKEN)
    assert response.status_code == 403
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.SUBSCRIBED
    assert not Message.objects.filter(direction=Direction.INBOUND).exists()


def test_unknown_store_is_404(client, sent):
    response = post_signed(client, "/webhooks/twilio/nobody/status", callback("delivered"))
    assert response.status_code == 404
    assert post_signed(client, "/webhooks/twilio/nobody/inbound", inbound("hi")).status_code == 404
    assert not DeliveryReport.objects.exists()


def test_store_without_twilio_sender_is_404(client, other_store, sent):
    response = post_signed(client, "/webhooks/twilio/berlin/status", callback("delivered"))
    assert response.status_code == 404 and not DeliveryReport.objects.exists()


def test_only_post_is_accepted(client, sent):
    assert client.get(STATUS_PATH).status_code == 405


def test_public_url_setting_is_the_signed_url(client, settings, sent):
    """Behind a proxy Django sees http://testserver; Twilio signed the public https URL."""
    settings.TEXTPILOT_PUBLIC_URL = PUBLIC_URL + "/"
    path = f"{STATUS_PATH}?mid={sent.pk}"
    assert post_signed(client, path, callback("sent")).status_code == 403  # signed for the internal URL
    response = post_signed(client, path, callback("delivered"), base=PUBLIC_URL)
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED


def test_any_twilio_sender_of_the_store_may_have_signed(client, store, sent, fake_twilio):
    """Two Twilio accounts in one store: the second sender's token is valid too."""
    service.create_sender(store, name="Twilio EU", provider="twilio", from_number="+14155550199",
                          credentials=twilio_credentials(token=OTHER_TOKEN), options={"base_url": fake_twilio.url})
    response = post_signed(client, STATUS_PATH, callback("delivered", From="+14155550199"), token=OTHER_TOKEN)
    assert response.status_code == 200
    response = post_signed(client, STATUS_PATH, callback("delivered", From="+14155550199"), token=AUTH_TOKEN)
    assert response.status_code == 200  # the number's own sender is tried first, then the others


def test_token_of_another_stores_sender_is_refused(client, store, other_store, sent, fake_twilio):
    service.create_sender(other_store, name="Twilio", provider="twilio", from_number="+4915112340000",
                          credentials=twilio_credentials(token=OTHER_TOKEN), options={"base_url": fake_twilio.url})
    response = post_signed(client, STATUS_PATH, callback("failed"), token=OTHER_TOKEN)
    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.status == Status.SENT


# --- status callbacks ----------------------------------------------------------------------

def test_delivered_then_late_sent_stays_delivered(client, sent):
    assert post_signed(client, STATUS_PATH, callback("delivered")).status_code == 200
    assert post_signed(client, STATUS_PATH, callback("sent")).status_code == 200
    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED and sent.delivered_at is not None
    assert list(DeliveryReport.objects.order_by("id").values_list("status", "applied")) == [
        ("delivered", True), ("sent", False)]


def test_duplicate_callbacks_one_status_both_receipts(client, sent):
    for _ in range(2):
        assert post_signed(client, STATUS_PATH, callback("delivered")).status_code == 200
    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED
    assert list(DeliveryReport.objects.order_by("id").values_list("status", "applied")) == [
        ("delivered", True), ("delivered", False)]


def test_undelivered_keeps_twilios_error(client, sent):
    assert post_signed(client, STATUS_PATH, callback("undelivered", ErrorCode="30003")).status_code == 200
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == (Status.UNDELIVERED, "30003")
    assert "unreachable destination handset" in sent.status_reason


def test_opt_out_error_in_a_callback_unsubscribes(client, sent, subscribed):
    assert post_signed(client, STATUS_PATH, callback("failed", ErrorCode="21610")).status_code == 200
    sent.refresh_from_db()
    subscribed.refresh_from_db()
    assert (sent.status, sent.error_code) == (Status.FAILED, "21610")
    assert subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    assert ConsentEvent.objects.filter(profile=subscribed, source__startswith="carrier_opt_out").count() == 1


def test_queued_callback_settles_an_unknown_message_found_by_mid(client, store, twilio_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Hi")
    Message.objects.filter(pk=message.pk).update(status=Status.UNKNOWN, provider="twilio")
    response = post_signed(client, f"{STATUS_PATH}?mid={message.pk}", callback("queued", sid="SM" + "5" * 32))
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.SENT and message.provider_message_id == "SM" + "5" * 32


def test_callback_for_a_text_we_do_not_know_is_kept_unapplied(client, sent):
    response = post_signed(client, STATUS_PATH, callback("delivered", sid="SM" + "4" * 32))
    assert response.status_code == 200 and response.json() == {"message_id": None, "status": None}
    [report] = DeliveryReport.objects.all()
    assert report.message_id is None and report.applied is False


@pytest.mark.parametrize("params,path_suffix,complaint", [
    ({"MessageSid": "", "SmsSid": ""}, "", "MessageSid and MessageStatus are required"),
    ({"MessageStatus": "", "SmsStatus": ""}, "", "MessageSid and MessageStatus are required"),
    ({"MessageStatus": "exploded", "SmsStatus": "exploded"}, "", "MessageStatus 'exploded'"),
    ({"MessageStatus": "received", "SmsStatus": "received"}, "", "MessageStatus 'received'"),
    ({}, "?mid=abc", "mid must be a message id"),
    ({"Price": "free"}, "", "Price 'free' is not an amount"),
])
def test_malformed_callback_is_400_and_changes_nothing(client, sent, params, path_suffix, complaint):
    response = post_signed(client, STATUS_PATH + path_suffix, {**callback("delivered"), **params})
    assert response.status_code == 400 and complaint in response.json()["detail"]
    sent.refresh_from_db()
    assert sent.status == Status.SENT and not DeliveryReport.objects.exists()


# --- inbound -------------------------------------------------------------------------------

def test_inbound_stop_unsubscribes_and_queues_one_confirmation(client, store, twilio_sender, subscribed):
    response = post_signed(client, INBOUND_PATH, inbound(" Stop. "))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    subscribed.refresh_from_db()
    assert subscribed.sms_status == ConsentStatus.UNSUBSCRIBED
    [received] = Message.objects.filter(direction=Direction.INBOUND)
    assert (received.provider, received.provider_message_id, received.body) == ("twilio", "SM" + "9" * 32, " Stop. ")
    assert received.sender_id == twilio_sender.pk
    [reply] = Message.objects.filter(direction=Direction.OUTBOUND, origin=Origin.KEYWORD_REPLY)
    assert reply.status == Status.QUEUED and reply.sender_id == twilio_sender.pk and "unsubscribed" in reply.body

    # Twilio retrying the same webhook changes nothing more.
    assert post_signed(client, INBOUND_PATH, inbound(" Stop. ")).status_code == 200
    assert Message.objects.count() == 2


def test_inbound_mms_keeps_its_media(client, store, twilio_sender):
    params = inbound("Look at this", NumMedia="2", MediaUrl0="https://api.twilio.com/media/ME1",
                     MediaContentType0="image/jpeg", MediaUrl1="https://api.twilio.com/media/ME2",
                     MediaContentType1="image/png")
    assert post_signed(client, INBOUND_PATH, params).status_code == 200
    [received] = Message.objects.filter(direction=Direction.INBOUND)
    assert received.media_urls == ["https://api.twilio.com/media/ME1", "https://api.twilio.com/media/ME2"]
    assert received.status == Status.RECEIVED and received.body == "Look at this"


@pytest.mark.parametrize("params,complaint", [
    ({"MessageSid": "", "SmsMessageSid": ""}, "MessageSid and From are required"),
    ({"From": ""}, "MessageSid and From are required"),
    ({"NumMedia": "two"}, "NumMedia must be a whole number"),
    ({"NumMedia": "11"}, "NumMedia must be a whole number"),
    ({"NumMedia": "1"}, "MediaUrl0"),
    ({"From": "12"}, "from:"),
])
def test_malformed_inbound_is_400_and_stores_nothing(client, store, twilio_sender, params, complaint):
    response = post_signed(client, INBOUND_PATH, {**inbound("hello"), **params})
    assert response.status_code == 400 and complaint in response.json()["detail"]
    assert not Message.objects.exists()


# --- malformed bodies: a 400 naming the problem, never a 500, nothing written ---------------

@pytest.mark.parametrize("params,path_suffix,complaint", [
    ({}, "?mid=99999999999999999999999", "mid must be a message id"),  # beyond 64 bits: no id of ours
    ({}, "?mid=%C2%B2", "mid must be a message id"),  # "²" passes str.isdigit()
    ({}, "?mid=-3", "mid must be a message id"),
    ({"Price": "NaN"}, "", "Price 'NaN' is not an amount"),
    ({"Price": "-1e30"}, "", "more than a text can cost"),  # would overflow actual_cost
])
def test_callback_with_impossible_values_is_400(client, sent, params, path_suffix, complaint):
    response = post_signed(client, STATUS_PATH + path_suffix, {**callback("delivered"), **params})
    assert response.status_code == 400 and complaint in response.json()["detail"]
    sent.refresh_from_db()
    assert sent.status == Status.SENT and not DeliveryReport.objects.exists()


def test_a_json_body_is_400_naming_the_missing_form_fields(client, sent):
    """Signed as Twilio signs a request without form params (URL only), but sent as JSON."""
    from twilio_fakes import signature

    response = client.post(STATUS_PATH, data='{"MessageSid": "SM1", "MessageStatus": "delivered"}',
                           content_type="application/json",
                           HTTP_X_TWILIO_SIGNATURE=signature("http://testserver" + STATUS_PATH, {}))
    assert response.status_code == 400 and "MessageSid and MessageStatus are required" in response.json()["detail"]
    assert not DeliveryReport.objects.exists()


def test_a_broken_multipart_body_is_400_not_500(client, sent):
    response = client.post(STATUS_PATH, data=b"--xyz\r\nContent-Disposition: form-data; name=\"MessageSid\"\r\n\r\nSM",
                           content_type="multipart/form-data; boundary=", HTTP_X_TWILIO_SIGNATURE="x")
    assert response.status_code == 400 and "can't be read as a form" in response.json()["detail"]
    sent.refresh_from_db()
    assert sent.status == Status.SENT and not DeliveryReport.objects.exists()


def test_inbound_with_an_undecodable_body_is_stored_with_replacements(client, store, twilio_sender):
    """Bytes that aren't UTF-8 in a form field are read with replacement characters, not a 500."""
    from twilio_fakes import signature

    body = ("From=%2B12125550123&To=%2B14155550100&MessageSid=SM" + "7" * 32 + "&NumMedia=0&Body=caf%E9").encode()
    params = {"From": "+12125550123", "To": TWILIO_NUMBER, "MessageSid": "SM" + "7" * 32, "NumMedia": "0", "Body": "caf\ufffd"}
    response = client.post(INBOUND_PATH, data=body, content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE=signature("http://testserver" + INBOUND_PATH, params))
    assert response.status_code == 200
    assert Message.objects.get(direction=Direction.INBOUND).body == "caf\ufffd"


# --- the generic URL -------------------------------------------------------------------------

def test_receipt_is_the_same_url_as_status(client, sent):
    response = post_signed(client, "/webhooks/twilio/acme/receipt", callback("delivered"))
    assert response.status_code == 200 and response.json() == {"message_id": sent.pk, "status": "delivered"}


def test_a_mid_the_store_does_not_have_is_404_and_keeps_nothing(client, sent, other_store, subscribed):
    response = post_signed(client, f"{STATUS_PATH}?mid={sent.pk + 1000}", callback("delivered", sid="SM" + "3" * 32))
    assert response.status_code == 404 and f"no message {sent.pk + 1000}" in response.json()["detail"]
    assert not DeliveryReport.objects.exists()


def test_the_same_callback_twice_changes_nothing_the_second_time(client, sent, subscribed):
    params = callback("failed", ErrorCode="21610", Price="-0.0079")
    assert post_signed(client, STATUS_PATH, params).status_code == 200
    first = Message.objects.filter(pk=sent.pk).values().get()
    consent_events = ConsentEvent.objects.filter(profile=subscribed).count()
    assert post_signed(client, STATUS_PATH, params).status_code == 200
    assert Message.objects.filter(pk=sent.pk).values().get() == first
    assert ConsentEvent.objects.filter(profile=subscribed).count() == consent_events
    assert first["status"] == Status.FAILED and str(first["actual_cost"]) == "0.00790"
