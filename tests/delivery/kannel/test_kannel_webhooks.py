"""Kannel's receipt and inbound URLs with Django's test client: the token guards both, bad
requests are refused naming the field and change nothing, receipts never move backwards."""
import pytest
from conftest import SENDER_NUMBER, TOKEN

from textpilot.delivery import service
from textpilot.delivery.models import DeliveryReport, Message, Status
from textpilot.delivery.providers.base import OutgoingText
from textpilot.delivery.providers.kannel.provider import KannelProvider
from textpilot.profiles.models import ConsentStatus, Profile


@pytest.fixture
def kannel_sender(store):
    return service.create_sender(store, name="Kannel", provider="kannel", from_number=SENDER_NUMBER,
                                 credentials={"username": "tp", "password": "pw", "webhook_token": TOKEN})


@pytest.fixture
def sent(store, kannel_sender, subscribed):
    message = service.send_message(store, profile=subscribed, body="Your order shipped", sender=kannel_sender)
    Message.objects.filter(pk=message.pk).update(status=Status.SENT, provider="kannel", provider_message_id=f"kannel-{message.pk}")
    return message


def dlr(client, message_id, status, token=TOKEN, slug="acme", **extra):
    return client.get(f"/webhooks/kannel/{slug}/dlr", {"mid": message_id, "status": status, "answer": "ACK/", "token": token,
                                                        **extra})


def test_receipts_move_forward_only(client, sent):
    assert dlr(client, sent.pk, 1, fid="b2f6f4d0-smsc").status_code == 200
    assert dlr(client, sent.pk, 8).status_code == 200  # the SMSC's ack arriving late
    assert dlr(client, sent.pk, 1).status_code == 200  # a duplicate
    sent.refresh_from_db()
    assert sent.status == Status.DELIVERED
    assert list(DeliveryReport.objects.order_by("id").values_list("status", "applied")) == [
        ("delivered", True), ("sent", False), ("delivered", False)]
    assert DeliveryReport.objects.order_by("id").first().raw["smsc_message_id"] == "b2f6f4d0-smsc"


def test_receipt_arriving_before_the_dispatcher_records_the_acceptance(client, sent):
    """Kannel's receipt can reach us within milliseconds, while the message is still
    `sending`: it is delivered, from Kannel, and the late "sent" bookkeeping (which only
    touches `sending` rows) can't undo it."""
    Message.objects.filter(pk=sent.pk).update(status=Status.SENDING, provider="", provider_message_id=None)
    assert dlr(client, sent.pk, 1).status_code == 200
    sent.refresh_from_db()
    assert (sent.status, sent.provider, sent.provider_message_id) == (Status.DELIVERED, "kannel", f"kannel-{sent.pk}")


def test_buffered_receipt_is_kept_and_changes_nothing(client, sent):
    """Type 4: the SMSC holds the text for a phone that is off; the final receipt follows."""
    assert dlr(client, sent.pk, 4).json()["status"] == Status.SENT
    assert list(DeliveryReport.objects.values_list("raw__status", "applied")) == [(4, False)]
    dlr(client, sent.pk, 1)
    dlr(client, sent.pk, 4)
    assert Message.objects.get(pk=sent.pk).status == Status.DELIVERED


def test_receipt_for_another_stores_message_is_404(client, sent, other_store):
    service.create_sender(other_store, name="Kannel", provider="kannel", from_number=SENDER_NUMBER,
                          credentials={"username": "tp", "password": "pw", "webhook_token": TOKEN})
    assert dlr(client, sent.pk, 1, slug=other_store.slug).status_code == 404
    assert Message.objects.get(pk=sent.pk).status == Status.SENT


def test_failed_receipt_keeps_the_answer(client, sent):
    dlr(client, sent.pk, 16)
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == (Status.FAILED, "16") and "ACK/" in sent.status_reason


@pytest.mark.parametrize("token", ["", "wrong-token-wrong-token", TOKEN.upper()])
def test_missing_or_wrong_token_is_403_and_changes_nothing(client, sent, token):
    assert dlr(client, sent.pk, 1, token=token).status_code == 403
    assert client.get("/webhooks/kannel/acme/inbound", {"from": "+12125550123", "text": "STOP", "token": token}).status_code == 403
    sent.refresh_from_db()
    assert sent.status == Status.SENT and not DeliveryReport.objects.exists()
    assert Profile.objects.get(pk=sent.profile_id).sms_status == ConsentStatus.SUBSCRIBED


@pytest.mark.parametrize("params", [{"status": "1"}, {"mid": "abc", "status": "1"}, {"mid": "1", "status": "x"},
                                    {"mid": "1", "status": "3"}])
def test_malformed_receipt_is_400(client, sent, params):
    answer = client.get("/webhooks/kannel/acme/dlr", {**params, "token": TOKEN})
    assert answer.status_code == 400
    sent.refresh_from_db()
    assert sent.status == Status.SENT and not DeliveryReport.objects.exists()


def test_unknown_store_is_404(client, sent):
    assert dlr(client, sent.pk, 1, slug="nope").status_code == 404


def test_allowed_ips_refuses_other_callers(client, sent, kannel_sender):
    kannel_sender.options = {**kannel_sender.options, "allowed_ips": "10.1.2.3, 192.168.0.0/16"}
    kannel_sender.save(update_fields=["options"])
    assert dlr(client, sent.pk, 1).status_code == 403  # the test client calls from 127.0.0.1
    assert Message.objects.get(pk=sent.pk).status == Status.SENT and not DeliveryReport.objects.exists()
    assert client.get(f"/webhooks/kannel/acme/dlr?mid={sent.pk}&status=1&token={TOKEN}",
                      REMOTE_ADDR="192.168.7.9").status_code == 200
    assert Message.objects.get(pk=sent.pk).status == Status.DELIVERED


def test_inbound_ucs2_is_decoded_from_the_bytes_kannel_sends(client, store, kannel_sender, subscribed):
    """What smsbox's get-url really sent for a UCS-2 text (captured from Kannel 1.4.5)."""
    answer = client.get(f"/webhooks/kannel/acme/inbound?from={subscribed.phone.replace('+', '%2B')}&to=%2B14155550100"
                        f"&text=%06'%06D%00+%D8%3C%DF%89&charset=UTF-16BE&id=637dab67&token={TOKEN}")
    assert answer.status_code == 200 and answer.content == b""
    assert Message.objects.get(direction="inbound").body == "\u0627\u0644 🎉"
    unknown = client.get(f"/webhooks/kannel/acme/inbound?from=%2B12125550123&text=x&charset=KOI9-Z&token={TOKEN}")
    assert unknown.status_code == 400 and "KOI9-Z" in unknown.json()["detail"]
    assert Message.objects.filter(direction="inbound").count() == 1


def test_inbound_repeated_by_kannel_is_stored_once(client, store, kannel_sender, subscribed):
    params = {"from": subscribed.phone, "to": SENDER_NUMBER, "text": "STOP", "id": "918cfdde-da54", "token": TOKEN}
    assert client.get("/webhooks/kannel/acme/inbound", params).status_code == 200
    assert client.get("/webhooks/kannel/acme/inbound", params).status_code == 200
    assert Message.objects.filter(direction="inbound").count() == 1
    assert Message.objects.filter(direction="outbound", origin="keyword_reply").count() == 1


def test_inbound_is_stored_and_answered_with_an_empty_body(client, store, kannel_sender, subscribed):
    answer = client.get("/webhooks/kannel/acme/inbound", {"from": subscribed.phone, "to": SENDER_NUMBER, "text": "Hello?", "token": TOKEN})
    assert answer.status_code == 200 and answer.content == b""
    assert Message.objects.get(direction="inbound").body == "Hello?"
    assert client.get("/webhooks/kannel/acme/inbound", {"from": "12", "text": "x", "token": TOKEN}).status_code == 400
    assert client.get("/webhooks/kannel/acme/inbound", {"from": subscribed.phone, "token": TOKEN}).status_code == 400
    assert Message.objects.filter(direction="inbound").count() == 1


def test_request_parameters():
    provider = KannelProvider(credentials={"username": "tp", "password": "pw", "webhook_token": TOKEN},
                              options={"smsc_id": "FAKE"})
    text = OutgoingText(7, 1, "+12125550123", SENDER_NUMBER, "Ünïcode ✓", status_callback_url="https://sms.example/webhooks/kannel/acme/status?mid=7")
    params = provider.request_params(text)
    assert (params["coding"], params["charset"], params["smsc"], params["dlr-mask"]) == ("2", "UTF-8", "FAKE", "31")
    assert params["dlr-url"] == f"https://sms.example/webhooks/kannel/acme/status?mid=7&token={TOKEN}&status=%d&answer=%A&fid=%F"
    plain = provider.request_params(OutgoingText(8, 1, "+12125550123", SENDER_NUMBER, "Plain text"))
    assert "coding" not in plain and "dlr-url" not in plain


@pytest.mark.parametrize("credentials,options,field", [
    ({"username": "tp", "password": "pw"}, {}, "webhook_token"),
    ({"username": "tp", "password": "pw", "webhook_token": "short"}, {}, "webhook_token"),
    ({"username": "tp", "password": "pw", "webhook_token": TOKEN}, {"base_url": "ftp://x"}, "base_url"),
    ({"username": "tp", "password": "pw", "webhook_token": TOKEN}, {"max_messages": 0}, "max_messages"),
    ({"username": "tp", "password": "pw", "webhook_token": TOKEN}, {"max_messages": "10"}, "max_messages"),
    ({"username": "tp", "password": "pw", "webhook_token": TOKEN}, {"allowed_ips": "127.0.0.1, kannel.local"}, "allowed_ips"),
])
def test_bad_configuration_names_the_field(store, credentials, options, field):
    from textpilot.common.errors import FieldError

    with pytest.raises(FieldError) as error:
        service.create_sender(store, name="K", provider="kannel", from_number=SENDER_NUMBER, credentials=credentials, options=options)
    assert error.value.field == field


# --- malformed requests: a 400 naming the problem, never a 500, nothing written ---------------

@pytest.mark.parametrize("params,complaint", [
    ({"mid": "99999999999999999999999", "status": "1"}, "mid must be a message id"),  # beyond 64 bits
    ({"mid": "\u00b2", "status": "1"}, "mid must be a message id"),  # "²" passes str.isdigit()
    ({"mid": "1", "status": "\u00b9"}, "status must be one of [1, 2, 4, 8, 16]"),
    ({"mid": "1", "status": "99999999999999999999"}, "status must be one of"),
])
def test_receipt_with_impossible_values_is_400_naming_the_parameter(client, sent, params, complaint):
    answer = client.get("/webhooks/kannel/acme/dlr", {**params, "token": TOKEN})
    assert answer.status_code == 400 and complaint in answer.json()["detail"]
    assert Message.objects.get(pk=sent.pk).status == Status.SENT and not DeliveryReport.objects.exists()


@pytest.mark.parametrize("query,complaint", [
    ("from=%2B12125550123&text=aGk%3D&charset=base64", "charset 'base64' is unknown"),  # a codec, not a text encoding
    ("from=%2B12125550123&text=x&charset=rot13", "charset 'rot13' is unknown"),
    ("from=not-a-number&text=hello", "from: "),
    ("from=%2B1212555012399999999&text=hello", "from: "),
    ("text=hello", "from is missing"),
    ("from=%2B12125550123", "text is missing"),
])
def test_inbound_that_cannot_be_read_is_400_and_stores_nothing(client, store, kannel_sender, subscribed, query, complaint):
    answer = client.get(f"/webhooks/kannel/acme/inbound?{query}&token={TOKEN}")
    assert answer.status_code == 400 and complaint in answer.json()["detail"]
    assert not Message.objects.filter(direction="inbound").exists()
    assert Profile.objects.get(pk=subscribed.pk).sms_status == ConsentStatus.SUBSCRIBED


def test_inbound_with_a_broken_ucs2_text_is_stored_with_replacements(client, store, kannel_sender):
    """An odd number of UTF-16 bytes (a cut-off text) is read with a replacement character."""
    answer = client.get(f"/webhooks/kannel/acme/inbound?from=%2B12125550123&text=%00h%00i%00&charset=UTF-16BE&token={TOKEN}")
    assert answer.status_code == 200
    assert Message.objects.get(direction="inbound").body == "hi\ufffd"


def test_inbound_posted_as_a_form_works_and_a_broken_body_is_400(client, store, kannel_sender):
    answer = client.post("/webhooks/kannel/acme/inbound", {"from": "+12125550123", "text": "Hi", "token": TOKEN})
    assert answer.status_code == 200 and Message.objects.get(direction="inbound").body == "Hi"
    broken = client.post("/webhooks/kannel/acme/inbound", data=b"--x\r\nnonsense", content_type="multipart/form-data; boundary=")
    assert broken.status_code == 400 and "can't be read as a form" in broken.json()["detail"]
    assert Message.objects.filter(direction="inbound").count() == 1


def test_a_national_from_number_is_stored_in_e164_and_our_number_finds_the_sender(client, store, kannel_sender, subscribed):
    """Kannel's %p and %P come as the SMSC gives them, often without the +: read in the store's country."""
    answer = client.get("/webhooks/kannel/acme/inbound", {"from": "(212) 555-0123", "to": SENDER_NUMBER.lstrip("+"),
                                                         "text": "Hello?", "token": TOKEN})
    assert answer.status_code == 200
    received = Message.objects.get(direction="inbound")
    assert (received.from_phone, received.to_phone, received.profile_id, received.sender_id) == (
        subscribed.phone, SENDER_NUMBER, subscribed.pk, kannel_sender.pk)


def test_receipt_is_the_same_url_as_dlr_and_status(client, sent):
    for name, status in (("receipt", 8), ("status", 1), ("dlr", 8)):
        answer = client.get(f"/webhooks/kannel/acme/{name}", {"mid": sent.pk, "status": status, "token": TOKEN})
        assert answer.status_code == 200
    assert list(DeliveryReport.objects.order_by("id").values_list("status", "applied")) == [
        ("sent", False), ("delivered", True), ("sent", False)]


def test_the_same_receipt_twice_changes_nothing_the_second_time(client, sent):
    assert dlr(client, sent.pk, 16).status_code == 200
    first = Message.objects.filter(pk=sent.pk).values().get()
    assert dlr(client, sent.pk, 16).status_code == 200
    assert Message.objects.filter(pk=sent.pk).values().get() == first and first["status"] == Status.FAILED


def test_the_sender_whose_token_matched_names_the_refusal(client, store, sent, kannel_sender):
    """Two Kannel senders: the token is the second one's, whose allowed_ips leave this caller out."""
    service.create_sender(store, name="Kannel 2", provider="kannel", from_number="+14155550111",
                          credentials={"username": "tp", "password": "pw", "webhook_token": "second-token-0123456789"},
                          options={"allowed_ips": "10.0.0.0/8"})
    answer = dlr(client, sent.pk, 1, token="second-token-0123456789")
    assert answer.status_code == 403 and answer.json()["detail"] == "address not in allowed_ips"
    assert client.get("/webhooks/kannel/acme/dlr", {"mid": sent.pk, "status": 1, "token": "second-token-0123456789"},
                      REMOTE_ADDR="10.1.2.3").status_code == 200
    assert Message.objects.get(pk=sent.pk).status == Status.DELIVERED
