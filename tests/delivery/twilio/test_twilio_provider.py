"""The Twilio provider against the local fake API: the wire format it sends and how each kind
of answer (or missing answer) becomes an outcome. No database: providers never touch it."""
import asyncio
import base64
import socket

import pytest
from twilio_fakes import ACCOUNT_SID, AUTH_TOKEN, TWILIO_NUMBER, twilio_credentials

from textpilot.common.errors import FieldError
from textpilot.delivery import service
from textpilot.delivery.providers.base import OutgoingText, Outcome
from textpilot.delivery.providers.twilio.provider import TwilioProvider, parse_retry_after

TO = "+12125550123"


def text(message_id=1, to=TO, **fields) -> OutgoingText:
    return OutgoingText(message_id=message_id, store_id=1, to_phone=to, from_phone=TWILIO_NUMBER,
                        body=fields.pop("body", "Your order shipped"), **fields)


def send(provider: TwilioProvider, texts: list[OutgoingText]):
    async def run():
        try:
            return await provider.send_batch(texts)
        finally:
            await provider.close()

    return asyncio.run(run())


def provider_for(fake, **options) -> TwilioProvider:
    return TwilioProvider(credentials=twilio_credentials(), options={"base_url": fake.url, **options})


def test_mms_goes_out_in_twilio_wire_format(fake_twilio):
    callback = "https://sms.acme.test/webhooks/twilio/acme/status?mid=7"
    [result] = send(provider_for(fake_twilio), [text(7, media_urls=("https://cdn.acme.test/a.jpg", "https://cdn.acme.test/b.png"),
                                                     status_callback_url=callback)])
    assert result.outcome == Outcome.ACCEPTED and result.provider_message_id.startswith("SM")
    [request] = fake_twilio.requests
    assert request["account"] == ACCOUNT_SID and request["content_type"] == "application/x-www-form-urlencoded"
    assert request["authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request["form"] == {"To": [TO], "From": [TWILIO_NUMBER], "Body": ["Your order shipped"],
                               "MediaUrl": ["https://cdn.acme.test/a.jpg", "https://cdn.acme.test/b.png"],
                               "StatusCallback": [callback]}
    # What we keep of the call: the form, never the token; the answer's sid and status.
    assert result.request["MediaUrl"] == ["https://cdn.acme.test/a.jpg", "https://cdn.acme.test/b.png"]
    assert AUTH_TOKEN not in repr(result.request) and "Authorization" not in repr(result.request)
    assert result.response == {"http_status": 201, "sid": result.provider_message_id, "status": "queued",
                               "num_segments": "1", "num_media": "2", "price_unit": "USD"}


def test_messaging_service_replaces_from_and_no_callback_without_url(fake_twilio):
    service_sid = "MG" + "a" * 32
    [result] = send(provider_for(fake_twilio, messaging_service_sid=service_sid), [text()])
    assert result.outcome == Outcome.ACCEPTED
    form = fake_twilio.requests[0]["form"]
    assert form["MessagingServiceSid"] == [service_sid] and "From" not in form and "StatusCallback" not in form


def test_batch_goes_out_concurrently_one_answer_per_text(fake_twilio):
    fake_twilio.will("+12125550102", ("error", 400, 21211, "The 'To' number +12125550102 is not a valid phone number."))
    texts = [text(i, to=f"+121255501{i:02d}") for i in range(1, 21)]
    results = send(provider_for(fake_twilio), texts)
    assert [r.message_id for r in results] == list(range(1, 21))
    assert [r.outcome for r in results].count(Outcome.ACCEPTED) == 19
    assert results[1].outcome == Outcome.PERMANENT and results[1].error_code == "21211"
    assert len({r.provider_message_id for r in results if r.provider_message_id}) == 19


def test_unsubscribed_recipient_is_a_permanent_carrier_opt_out(fake_twilio):
    fake_twilio.will(TO, ("error", 400, 21610, "Attempt to send to unsubscribed recipient"))
    [result] = send(provider_for(fake_twilio), [text()])
    assert (result.outcome, result.error_code, result.carrier_opt_out) == (Outcome.PERMANENT, "21610", True)
    assert "unsubscribed recipient" in result.error
    assert result.response["code"] == 21610 and result.response["http_status"] == 400


@pytest.mark.parametrize("status,code,headers,retry_after", [
    (429, 20429, {"Retry-After": "30"}, 30.0),
    (503, 20503, None, None),
    (500, 20500, {"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"}, 0.0),  # a date in the past: now
])
def test_throttling_and_server_errors_are_transient(fake_twilio, status, code, headers, retry_after):
    fake_twilio.will(TO, ("error", status, code, "Service unavailable", headers))
    [result] = send(provider_for(fake_twilio), [text()])
    assert result.outcome == Outcome.TRANSIENT and result.error_code == str(code)
    assert result.retry_after_s == retry_after


def test_wrong_credentials_are_refused_permanently_with_twilios_code(fake_twilio):
    provider = TwilioProvider(credentials=twilio_credentials(token="0" * 32), options={"base_url": fake_twilio.url})
    [result] = send(provider, [text()])
    assert (result.outcome, result.error_code) == (Outcome.PERMANENT, "20003")


def test_connection_dropped_after_the_request_is_unknown(fake_twilio):
    fake_twilio.will(TO, ("drop",))
    [result] = send(provider_for(fake_twilio), [text()])
    assert result.outcome == Outcome.UNKNOWN and result.provider_message_id is None
    assert "after the request was sent" in result.error
    assert len(fake_twilio.requests) == 1  # Twilio got it: exactly why we must not resend


def test_no_connection_at_all_is_transient():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = TwilioProvider(credentials=twilio_credentials(), options={"base_url": f"http://127.0.0.1:{port}"})
    [result] = send(provider, [text()])
    assert (result.outcome, result.error_code) == (Outcome.TRANSIENT, "connection")


def test_one_session_per_provider_closed_by_close(fake_twilio):
    provider = provider_for(fake_twilio)

    async def run():
        await provider.send_batch([text(1)])
        first = provider._http
        await provider.send_batch([text(2)])
        assert provider._http is first
        await provider.close()
        return first

    session = asyncio.run(run())
    assert session.closed and provider._http is None


@pytest.mark.parametrize("value,expected", [("120", 120.0), (" 1.5 ", 1.5), ("-4", 0.0), ("99999", 3600.0),
                                            ("soon", None), ("", None), (None, None)])
def test_retry_after_values(value, expected):
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("credentials,options,field", [
    ({"auth_token": AUTH_TOKEN}, {}, "account_sid"),
    ({"account_sid": "AC123", "auth_token": AUTH_TOKEN}, {}, "account_sid"),
    ({"account_sid": "SK" + "0" * 32, "auth_token": AUTH_TOKEN}, {}, "account_sid"),
    ({"account_sid": ACCOUNT_SID}, {}, "auth_token"),
    ({"account_sid": ACCOUNT_SID, "auth_token": "  "}, {}, "auth_token"),
    (twilio_credentials(), {"messaging_service_sid": "MG1"}, "messaging_service_sid"),
    (twilio_credentials(), {"base_url": "api.twilio.com"}, "base_url"),
    (twilio_credentials(), {"request_timeout_s": 90}, "request_timeout_s"),
    (twilio_credentials(), {"max_connections": "many"}, "max_connections"),
])
def test_bad_configuration_names_the_field_and_creates_nothing(store, credentials, options, field):
    from textpilot.delivery.models import Sender

    with pytest.raises(FieldError) as error:
        service.create_sender(store, name="Twilio", provider="twilio", from_number=TWILIO_NUMBER,
                              credentials=credentials, options=options)
    assert error.value.field == field and field in str(error.value)
    assert not Sender.objects.exists()


def test_good_configuration_is_stored_with_encrypted_token(store):
    sender = service.create_sender(store, name="Twilio", provider="twilio", from_number=TWILIO_NUMBER,
                                   credentials=twilio_credentials())
    assert AUTH_TOKEN not in sender.credentials_encrypted
    assert service.sender_credentials(sender) == twilio_credentials()
    assert sender.options["base_url"] == "https://api.twilio.com"
